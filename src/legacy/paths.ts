/**
 * Where a legacy file is fetched from and where it lands. Nothing here trusts a URL or key taken
 * whole from data: the source URL is built from the configured origin and a validated path
 * relative to MEDIA_ROOT, and R2 keys only from validated ids.
 */

export interface LegacyMediaConfig {
  origin: string;
  mediaUrl: string;
  mediaRoot: string;
}

export type SourceResolution = { ok: true; relativePath: string } | { ok: false; reason: "unsafe_path"; detail: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Turns a legacy absolute `file_path` into a path relative to MEDIA_ROOT, or says why it is unsafe. */
export function relativeMediaPath(filePath: string, mediaRoot: string): SourceResolution {
  const unsafe = (detail: string): SourceResolution => ({ ok: false, reason: "unsafe_path", detail });
  if (/[\u0000-\u001f\u007f\\]/.test(filePath)) return unsafe("control character or backslash in path");
  if (SCHEME.test(filePath) || filePath.includes("://")) return unsafe("path carries a URL scheme");
  const root = mediaRoot.replace(/\/+$/, "");
  if (!filePath.startsWith(`${root}/`)) return unsafe(`path is outside ${root}`);
  const relativePath = filePath.slice(root.length + 1);
  const segments = relativePath.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return unsafe("empty, '.' or '..' segment");
  return { ok: true, relativePath };
}

/** The one URL a relative media path may be fetched from. */
export function legacySourceUrl(relativePath: string, config: LegacyMediaConfig): URL {
  const base = new URL(config.origin);
  const prefix = `/${config.mediaUrl.replace(/^\/+|\/+$/g, "")}/`.replace(/^\/\/$/, "/");
  const url = new URL(prefix + relativePath.split("/").map(encodeURIComponent).join("/"), base.origin);
  if (url.origin !== base.origin || !url.pathname.startsWith(prefix)) {
    throw new Error(`refusing to build a source URL outside ${base.origin}${prefix}`);
  }
  return url;
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** R2 key of an uploaded CSV: `uploads/user-<user_id>/<file_id>.csv`, from validated ids only. */
export function uploadKey(userId: number, fileId: string): string {
  if (!Number.isSafeInteger(userId) || userId <= 0) throw new Error(`invalid user id ${userId}`);
  if (!isUuid(fileId)) throw new Error(`invalid file id ${fileId}`);
  return `uploads/user-${userId}/${fileId.toLowerCase()}.csv`;
}
