import { describe, expect, it } from "vitest";
import { decodeRow, MAX_FILE_PATH_LENGTH, requiredColumns } from "../../src/legacy/export-contract";

const header = requiredColumns("files");

function fileFields(filePath: string): string[] {
  const cells: Record<string, string> = {
    id: "1",
    user_id: "1",
    file_id: "00000000-0000-4000-8000-000000000001",
    file_name: "a.csv",
    file_path: filePath,
    uploaded_at: "2024-01-01 00:00:00+00",
    system_tags: "{}",
    user_tags: "{}",
    metadata: "{}",
  };
  return header.map((column) => cells[column]!);
}

describe("the export contract's files row", () => {
  it(`takes a file_path of ${MAX_FILE_PATH_LENGTH} characters and refuses a longer one, naming the column`, () => {
    const path = (length: number) => `/app/media/uploads/${"a".repeat(length - "/app/media/uploads/".length)}`;
    expect(decodeRow("files", header, fileFields(path(MAX_FILE_PATH_LENGTH)))).toMatchObject({ ok: true, row: { file_path: path(MAX_FILE_PATH_LENGTH) } });
    expect(decodeRow("files", header, fileFields(path(MAX_FILE_PATH_LENGTH + 1)))).toEqual({ ok: false, error: `file_path: must be at most ${MAX_FILE_PATH_LENGTH} characters` });
  });
});
