import { api, type CutRequest, type FileContents, type SavedFilter } from "../api";
import { describeClauses, fromFilterConfig, toFilterConfig } from "../clauses";
import { cutEditor, type CutEditor } from "../cut-editor";
import { announce, baseName, button, field, h, input, row, saveBlob, scrollingTable, select } from "../dom";
import { previewCut } from "../preview";
import type { PageContext } from "../router";
import { reportError, submitting, UserError } from "./forms";

const PREVIEW_ROWS = 25;

/**
 * /files/<file_id>/cut[?filter=<id>] — choose columns and clauses, preview the first rows that pass,
 * export the cut as a download or save it as a new file, save the settings as a filter, or apply a
 * saved one (?filter= applies it on arrival).
 */
export async function cutPage(view: HTMLElement, { params, query, signal }: PageContext): Promise<void> {
  const heading = h("h1", {}, "Cut a file");
  const loading = h("p", {}, "Loading the file…");
  view.append(heading, loading);
  let file: FileContents;
  try {
    file = await api.fetchFile(params.id!, signal);
  } catch (e) {
    loading.replaceChildren("This file could not be opened. ", h("a", { href: "/files" }, "Back to my files"), ".");
    throw e;
  }
  heading.textContent = `Cut ${file.file_name}`;
  document.title = `${heading.textContent} — List Cutter`;

  const editor = cutEditor(file.columns);
  const previewArea = h("div", { class: "preview" });
  const cut = new CutActions(file, editor, previewArea, signal);
  const form = h("form", { class: "cut-form" }, editor.element, h("div", { class: "actions" }, h("button", { type: "submit" }, "Preview"), button("Export CSV", () => cut.export().catch(reportError))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    cut.preview().catch(reportError);
  });

  const saved = h("div", {});
  // The heading stays where it is: it may have focus.
  loading.replaceWith(
    h("p", { class: "muted" }, `${file.columns.length} columns${file.row_count !== null ? `, ${file.row_count} rows` : ""}.`),
    saved,
    form,
    h("section", { "aria-labelledby": "preview-heading" }, h("h2", { id: "preview-heading" }, "Preview"), previewArea),
    h("section", { "aria-labelledby": "save-heading" }, h("h2", { id: "save-heading" }, "Save"), h("div", { class: "save-forms" }, saveFileForm(cut), saveFilterForm(cut, () => void loadFilters()))),
  );

  const loadFilters = async () => {
    const filters = await api.listFilters(signal);
    saved.replaceChildren(filters.length > 0 ? applyFilterForm(filters, (f) => cut.apply(f)) : "");
  };
  const requested = query.get("filter");
  await Promise.all([
    loadFilters(),
    requested ? api.getFilter(requested, signal).then((f) => cut.apply(f)) : cut.preview(),
  ]);
}

/** What the cut page does with the editor's settings. */
class CutActions {
  #previewing: AbortController | null = null;

  constructor(
    readonly file: FileContents,
    readonly editor: CutEditor,
    readonly previewArea: HTMLElement,
    readonly signal: AbortSignal,
  ) {}

  request(): CutRequest {
    const { columns, clauses } = this.editor.read();
    if (columns.length === 0) throw new UserError("Choose at least one column to keep.");
    return { columns, file_path: this.file.file_path, filters: clauses };
  }

  get defaultName(): string {
    return `${baseName(this.file.file_name)}-cut.csv`;
  }

  /** Shows the first rows that pass; says `intro` and the outcome in the status region. */
  async preview(intro = ""): Promise<void> {
    const request = this.request();
    this.#previewing?.abort();
    const mine = (this.#previewing = new AbortController());
    announce("Previewing the cut…", "busy");
    try {
      const { header, rows, complete } = await previewCut(request, PREVIEW_ROWS, AbortSignal.any([this.signal, mine.signal]));
      const summary = complete ? `${rows.length} ${rows.length === 1 ? "row passes" : "rows pass"}.` : `The first ${rows.length} rows that pass.`;
      this.previewArea.replaceChildren(
        h("p", { id: "preview-summary" }, summary),
        rows.length > 0 ? scrollingTable("Preview of the cut", header, rows.map((cells) => row(...cells.map((c) => h("td", { class: "cell" }, c))))) : "",
      );
      announce(`${intro}Preview: ${summary}`, "ok");
    } catch (e) {
      if (!mine.signal.aborted) this.previewArea.replaceChildren(h("p", { class: "field-error" }, "No preview: the cut was refused (see the message above)."));
      throw e;
    }
  }

  /** The whole cut, from the API. */
  async fetchCut(): Promise<{ blob: Blob; request: CutRequest }> {
    const request = this.request();
    return { blob: await (await api.cut(request, this.signal)).blob(), request };
  }

  async export(): Promise<void> {
    announce("Exporting the cut…", "busy");
    const { blob } = await this.fetchCut();
    saveBlob(blob, this.defaultName);
    announce(`Exported ${this.defaultName}.`, "ok");
  }

  apply(filter: SavedFilter): Promise<void> {
    const settings = fromFilterConfig(filter.filter_config);
    const missing = this.editor.apply(settings);
    const note = missing.length > 0 ? ` This file has no column ${missing.map((c) => `“${c}”`).join(", ")}: that part of the filter was left out.` : "";
    return this.preview(`Applied the filter ${filter.name} (${describeClauses(settings.clauses)}).${note} `);
  }
}

function saveFileForm(cut: CutActions): HTMLFormElement {
  const name = field("File name", input({ name: "filename", required: true, maxlength: 255, value: cut.defaultName }));
  const opened = h("p", {});
  const form = h("form", { class: "card" }, h("h3", {}, "As a new file"), name.wrapper, h("button", { type: "submit" }, "Save as new file"), opened);
  submitting(form, "Saving the cut as a new file…", async () => {
    const fileName = /\.csv$/i.test(name.control.value.trim()) ? name.control.value.trim() : `${name.control.value.trim()}.csv`;
    const { blob, request } = await cut.fetchCut();
    const saved = await api.saveGenerated(blob, fileName, cut.file.file_id, { columns: request.columns, filters: request.filters });
    opened.replaceChildren(h("a", { href: `/files/${encodeURIComponent(saved.file_id)}/cut` }, `Open ${fileName}`));
    announce(`Saved the cut as ${fileName}.`, "ok");
  });
  return form;
}

function saveFilterForm(cut: CutActions, saved: () => void): HTMLFormElement {
  const name = field("Filter name", input({ name: "name", required: true, maxlength: 255 }));
  const description = field("Description (optional)", input({ name: "description", maxlength: 2000 }));
  const form = h("form", { class: "card" }, h("h3", {}, "As a filter"), name.wrapper, description.wrapper, h("button", { type: "submit" }, "Save filter"));
  submitting(form, "Saving the filter…", async () => {
    const { columns, clauses, allColumns } = cut.editor.read();
    const filter = await api.createFilter({
      name: name.control.value.trim(),
      description: description.control.value,
      file_id: cut.file.file_id,
      filter_config: toFilterConfig({ columns: allColumns ? null : columns, clauses }),
    });
    form.reset();
    saved();
    announce(`Saved the filter ${filter.name}.`, "ok");
  });
  return form;
}

function applyFilterForm(filters: SavedFilter[], apply: (f: SavedFilter) => Promise<void>): HTMLFormElement {
  const choice = field("Saved filter", select(filters.map((f) => [String(f.id), f.name] as const)));
  const form = h("form", { class: "card apply-filter" }, choice.wrapper, h("button", { type: "submit" }, "Apply filter"));
  submitting(form, "Applying the filter…", async () => {
    const filter = filters.find((f) => String(f.id) === choice.control.value);
    if (filter) await apply(filter);
  });
  return form;
}
