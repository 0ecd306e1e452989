// Each part of `npm run bench` adds its own key to bench/results/latest.json and its own section,
// starting at its marker, to latest.md (bench/copy.ts writes both files afresh first).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

export function mergeResult(key: string, result: unknown, mark: string, section: string): void {
  const dir = new URL("results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const jsonFile = new URL("latest.json", dir);
  const mdFile = new URL("latest.md", dir);
  const json = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, "utf8")) : {};
  json[key] = { date: new Date().toISOString(), ...(result as object) };
  writeFileSync(jsonFile, JSON.stringify(json, null, 2) + "\n");
  const md = existsSync(mdFile) ? readFileSync(mdFile, "utf8") : "";
  const start = md.indexOf(mark);
  let kept = md;
  if (start !== -1) {
    // The section runs to the next marker (another part's), or to the end.
    const next = md.indexOf("<!-- ", start + mark.length);
    kept = md.slice(0, start) + (next === -1 ? "" : md.slice(next));
  }
  writeFileSync(mdFile, `${kept.trimEnd()}\n\n${section}`);
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
