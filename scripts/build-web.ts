// Builds the end-user web app (web/) into web/dist/, which the Worker serves as static assets
// (wrangler.toml [assets]): web/src/main.ts bundled by esbuild, and web/index.html and web/app.css
// copied. Run by `npm test`, `npm start` and `npm run deploy`; web/dist/ is not committed.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../web/", import.meta.url));
const out = `${root}dist/`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}src/main.ts`],
  outfile: `${out}app.js`,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
for (const file of ["index.html", "app.css"]) cpSync(`${root}${file}`, `${out}${file}`);
console.log(`web app built into ${out}`);
