import { byteChunks, chunkBytesFor } from "../lib/byte-chunks";
import { ContentTap } from "./content-tap";
import type { ItemOutcome } from "./copy-file";
import type { VerifyItem } from "./messages";

/** Re-reads a migrated object from R2 and checks its size and SHA-256 against D1's record. */
export async function verifyObject(bucket: R2Bucket, item: VerifyItem): Promise<ItemOutcome> {
  let object: R2ObjectBody | null;
  try {
    object = await bucket.get(item.r2Key);
  } catch (e) {
    return { ok: false, reason: "storage", detail: `R2 read failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!object) return { ok: false, reason: "missing_object", detail: `no R2 object at ${item.r2Key}` };
  if (object.size !== item.size) {
    await object.body.cancel();
    return { ok: false, reason: "size_mismatch", detail: `R2 holds ${object.size} bytes, D1 says ${item.size}` };
  }
  const tap = new ContentTap(Number.MAX_SAFE_INTEGER, { shape: false });
  try {
    for await (const chunk of byteChunks(object.body, chunkBytesFor(object.size))) await tap.push(chunk);
  } catch (e) {
    return { ok: false, reason: "storage", detail: `R2 read failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const { bytes, sha256 } = await tap.result();
  if (sha256 !== item.sha256) return { ok: false, reason: "checksum_mismatch", detail: `R2 object hashes to ${sha256}, D1 says ${item.sha256}` };
  return { ok: true, bytes, sha256 };
}
