import { api } from "../api";
import { announce, button, field, formatBytes, h, input } from "../dom";
import type { PageContext } from "../router";
import { reportError } from "./forms";

/** /upload — one CSV, with a progress bar; the server's refusals (not a CSV, too large) are shown as it words them. */
export function uploadPage(view: HTMLElement, { signal }: PageContext): void {
  const chooser = field("CSV file", input({ name: "file", type: "file", accept: ".csv,text/csv", required: true }), "A .csv file whose first row names its columns.");
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0 });
  const progressText = h("p", { class: "hint", id: "upload-progress-text" });
  const progressBox = h("div", { class: "progress", hidden: true }, h("label", { for: progress.id }, "Upload progress"), progress, progressText);
  const submit = h("button", { type: "submit" }, "Upload");
  let controller: AbortController | null = null;
  const cancel = button("Cancel upload", () => controller?.abort(), { class: "secondary", hidden: true });
  const form = h("form", { class: "card" }, chooser.wrapper, h("div", { class: "actions" }, submit, cancel), progressBox);
  const next = h("div", { class: "next-steps" });
  view.append(h("h1", {}, "Upload a CSV"), form, next);
  // Leaving the page stops the upload.
  signal.addEventListener("abort", () => controller?.abort());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = chooser.control.files?.[0];
    if (!file) return;
    controller = new AbortController();
    submit.disabled = true;
    cancel.hidden = false;
    progressBox.hidden = false;
    next.replaceChildren();
    progress.value = 0;
    progressText.textContent = `0 % of ${formatBytes(file.size)}`;
    announce(`Uploading ${file.name}…`, "busy");
    // The live region hears every 25 %, not every progress event.
    let said = 0;
    try {
      const done = await api.upload(
        file,
        ({ loaded, total }) => {
          // `total` is the whole request (the file in its multipart envelope): shown as a share.
          const pct = total > 0 ? Math.min(100, Math.floor((100 * loaded) / total)) : 0;
          progress.value = pct;
          progressText.textContent = `${pct} % of ${formatBytes(file.size)}`;
          if (pct >= said + 25 && pct < 100) announce(`Uploading ${file.name}: ${(said = pct - (pct % 25))} %`, "busy");
        },
        controller.signal,
      );
      progress.value = 100;
      progressText.textContent = `100 % of ${formatBytes(file.size)}`;
      announce(`Uploaded ${file.name}.`, "ok");
      next.replaceChildren(
        h("h2", {}, "Next"),
        h("ul", { class: "links" }, h("li", {}, h("a", { href: `/files/${encodeURIComponent(done.file_id)}/cut` }, `Cut ${file.name}`)), h("li", {}, h("a", { href: "/files" }, "My files"))),
      );
      form.reset();
    } catch (e) {
      progressBox.hidden = true;
      if (signal.aborted) return;
      if (e instanceof DOMException && e.name === "AbortError") announce("Upload cancelled.");
      else reportError(e);
    } finally {
      submit.disabled = false;
      cancel.hidden = true;
      controller = null;
    }
  });
}
