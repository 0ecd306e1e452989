// `npm start` helper: give a newcomer a working .dev.vars (local secrets) from the committed example.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (ADMIN_TOKEN for the local operator API)");
}
