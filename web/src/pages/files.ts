import { api, type SavedFile } from "../api";
import { ask } from "../dialog";
import { announce, button, field, h, input, row, saveBlob, scrollingTable, timeElement } from "../dom";
import type { PageContext } from "../router";
import { reportError } from "./forms";

/** /files — the user's files (newest of each name, as the API lists them), with their actions. */
export async function filesPage(view: HTMLElement, { signal }: PageContext): Promise<void> {
  const heading = h("h1", {}, "My files");
  const list = h("div", { class: "files" }, h("p", {}, "Loading your files…"));
  view.append(heading, h("p", { class: "page-actions" }, h("a", { href: "/upload", class: "button" }, "Upload a CSV")), list);

  /** Lists the files again; `focus` puts focus back on a control of a row (its old node is gone). */
  const refresh = async (focus?: string) => {
    const files = await api.listFiles(signal);
    list.replaceChildren(
      files.length > 0
        ? scrollingTable("Your files", ["Name", "Tags", "Uploaded", "Actions"], files.map((f) => fileRow(f)))
        : h("p", {}, "No files yet. ", h("a", { href: "/upload" }, "Upload a CSV"), " to start."),
    );
    (focus ? list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focus)}"]`) : null)?.focus();
  };

  const fileRow = (file: SavedFile) => {
    const act = (label: string, action: () => Promise<void>, extra: Record<string, string> = {}) =>
      button(label, () => action().catch(reportError), { class: "secondary small", "aria-label": `${label} ${file.file_name}`, "data-focus": `${label}:${file.file_id}`, ...extra });
    return row(
      h("td", { class: "name" }, file.file_name),
      tagList(file),
      timeElement(file.uploaded_at),
      h(
        "div",
        { class: "actions" },
        h("a", { href: `/files/${encodeURIComponent(file.file_id)}/cut`, class: "button small", "aria-label": `Cut ${file.file_name}` }, "Cut"),
        act("Download", async () => {
          announce(`Downloading ${file.file_name}…`, "busy");
          saveBlob(await api.download(file.file_name), file.file_name);
          announce(`Downloaded ${file.file_name}.`, "ok");
        }),
        act("Add tags", async () => {
          const tags = field("Tags", input({ name: "tags", required: true, maxlength: 5000 }), "Separate tags with commas; each at most 100 characters.");
          if (!(await ask({ title: `Add tags to ${file.file_name}`, body: [tags.wrapper], confirm: "Add tags" }))) return;
          const added = [...new Set(tags.control.value.split(",").map((t) => t.trim()).filter(Boolean))];
          if (added.length === 0) return;
          await api.addTags(file.id, added);
          await refresh(`Add tags:${file.file_id}`);
          announce(`Tagged ${file.file_name}: ${added.join(", ")}.`, "ok");
        }),
        act(
          "Delete",
          async () => {
            const sure = await ask({ title: `Delete ${file.file_name}?`, body: [h("p", {}, "The file is removed for good; cuts already saved from it stay.")], confirm: "Delete file", danger: true });
            if (!sure) return;
            await api.deleteFile(file.id);
            await refresh();
            heading.focus();
            announce(`Deleted ${file.file_name}.`, "ok");
          },
          { class: "danger small" },
        ),
      ),
    );
  };

  await refresh();
}

function tagList(file: SavedFile): HTMLElement {
  const tags = [...file.system_tags.map((t) => h("li", { class: "tag system" }, t)), ...file.user_tags.map((t) => h("li", { class: "tag" }, t))];
  return tags.length > 0 ? h("ul", { class: "tags", "aria-label": "Tags" }, ...tags) : h("span", { class: "muted" }, "none");
}
