/** Bounds on what the new app accepts and shows of a CSV, so that no file or request can make it work or hold unboundedly. */

/** Columns a stored file may have, and a cut may pick or filter on. */
export const MAX_COLUMNS = 1_000;
/** The column names of a file, as JSON in its D1 row. */
export const MAX_COLUMNS_JSON_BYTES = 256 * 1024;
/** Cell text a fetch_saved_file preview holds at most, whatever its rows. */
export const MAX_PREVIEW_BYTES = 1024 * 1024;
/** Bytes of a file a fetch_saved_file preview reads at most. */
export const MAX_PREVIEW_READ_BYTES = 4 * 1024 * 1024;
