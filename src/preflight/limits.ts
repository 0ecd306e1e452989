// Imports nothing: the cutover CLI (scripts/cutover/args.ts) runs under Node and checks --sample
// against the same bound.

/** The most files one preflight checks on the legacy origin (its `sample`). */
export const MAX_PREFLIGHT_SAMPLE = 200;
