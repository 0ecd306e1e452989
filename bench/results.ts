// Each part of `npm run bench` adds its own key to bench/results/latest.json and its own section,
// starting at its marker, to latest.md; bench/copy.ts writes the top of both files (its report's keys
// and the text before the first marker), keeping the other parts'.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

function resultFiles() {
  const dir = new URL("results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  return { jsonFile: new URL("latest.json", dir), mdFile: new URL("latest.md", dir) };
}

/** The copy bench's report and text: the top of both files; the other parts' entries (each dated) and sections stay. */
export function writeCopyResult(report: Record<string, unknown>, md: string): void {
  const { jsonFile, mdFile } = resultFiles();
  const previous: Record<string, unknown> = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, "utf8")) : {};
  const parts = Object.entries(previous).filter(([key, value]) => !(key in report) && typeof value === "object" && value !== null && "date" in value);
  writeFileSync(jsonFile, JSON.stringify({ ...report, ...Object.fromEntries(parts) }, null, 2) + "\n");
  const previousMd = existsSync(mdFile) ? readFileSync(mdFile, "utf8") : "";
  const sections = previousMd.indexOf("<!-- ");
  writeFileSync(mdFile, sections === -1 ? md : `${md.trimEnd()}\n\n${previousMd.slice(sections)}`);
}

export function mergeResult(key: string, result: unknown, mark: string, section: string): void {
  const { jsonFile, mdFile } = resultFiles();
  const json = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, "utf8")) : {};
  const date = new Date().toISOString();
  json[key] = { date, ...(result as object) };
  writeFileSync(jsonFile, JSON.stringify(json, null, 2) + "\n");
  const md = existsSync(mdFile) ? readFileSync(mdFile, "utf8") : "";
  const start = md.indexOf(mark);
  let kept = md;
  if (start !== -1) {
    // The section runs to the next marker (another part's), or to the end.
    const next = md.indexOf("<!-- ", start + mark.length);
    kept = md.slice(0, start) + (next === -1 ? "" : md.slice(next));
  }
  // Each section says when it was measured: a part run alone leaves the others' older sections in place.
  const dated = section.replace(/^(## .*)$/m, `$1\n\nMeasured ${date}.`);
  writeFileSync(mdFile, `${kept.trimEnd()}\n\n${dated}`);
}

/** When `moduleUrl` is the script node was started with: runs the part, merges its result and prints its section. */
export function runWhenMain<T>(moduleUrl: string, part: { key: string; mark: string; run: () => Promise<T>; markdown: (result: T) => string }): void {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  part
    .run()
    .then((result) => {
      const section = part.markdown(result);
      mergeResult(part.key, result, part.mark, section);
      console.log(section);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
