import { api, type SavedFile, type SavedFilter } from "../api";
import { describeClauses, fromFilterConfig } from "../clauses";
import { ask } from "../dialog";
import { announce, button, field, h, input, row, scrollingTable, select, timeElement } from "../dom";
import { navigate, type PageContext } from "../router";
import { reportError } from "./forms";

/** /filters — the user's saved filters: apply one to a file (on its cut page), rename, delete. */
export async function filtersPage(view: HTMLElement, { signal }: PageContext): Promise<void> {
  const heading = h("h1", {}, "Saved filters");
  const list = h("div", {}, h("p", {}, "Loading your filters…"));
  view.append(heading, h("p", { class: "muted" }, "Save a filter from a file's cut page; apply it here to any of your files."), list);
  let files: SavedFile[] = [];

  const refresh = async (focus?: string) => {
    const filters = await api.listFilters(signal);
    const names = new Map(files.map((f) => [f.file_id, f.file_name]));
    list.replaceChildren(
      filters.length > 0
        ? scrollingTable("Your saved filters", ["Name", "Clauses", "Columns", "Made on", "Created", "Actions"], filters.map((f) => filterRow(f, names)))
        : h("p", {}, "No saved filters yet. Open a file from ", h("a", { href: "/files" }, "My files"), ", choose Cut, and save its settings as a filter."),
    );
    (focus ? list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focus)}"]`) : null)?.focus();
  };

  const filterRow = (filter: SavedFilter, names: Map<string, string>) => {
    const { columns, clauses } = fromFilterConfig(filter.filter_config);
    const act = (label: string, action: () => Promise<void>, extra: Record<string, string> = {}) =>
      button(label, () => action().catch(reportError), { class: "secondary small", "aria-label": `${label} ${filter.name}`, "data-focus": `${label}:${filter.id}`, ...extra });
    return row(
      h("td", { class: "name" }, h("span", {}, filter.name), filter.description ? h("span", { class: "muted block" }, filter.description) : null),
      describeClauses(clauses),
      columns === null ? "all" : columns.join(", "),
      filter.file_id ? (names.get(filter.file_id) ?? "a file since deleted") : "—",
      timeElement(filter.created_at),
      h(
        "div",
        { class: "actions" },
        act("Apply", async () => {
          if (files.length === 0) return announce("You have no file to apply it to. Upload a CSV first.", "error");
          const target = field("File", select(files.map((f) => [f.file_id, f.file_name] as const)));
          if (filter.file_id && names.has(filter.file_id)) target.control.value = filter.file_id;
          if (!(await ask({ title: `Apply ${filter.name}`, body: [h("p", {}, "The file's cut page opens with the filter applied and a preview of the rows that pass."), target.wrapper], confirm: "Apply" }))) return;
          navigate(`/files/${encodeURIComponent(target.control.value)}/cut?filter=${filter.id}`);
        }),
        act("Rename", async () => {
          const name = field("New name", input({ name: "name", required: true, maxlength: 255, value: filter.name }));
          if (!(await ask({ title: `Rename ${filter.name}`, body: [name.wrapper], confirm: "Rename" }))) return;
          const renamed = await api.renameFilter(filter.id, name.control.value.trim());
          await refresh(`Rename:${filter.id}`);
          announce(`Renamed ${filter.name} to ${renamed.name}.`, "ok");
        }),
        act(
          "Delete",
          async () => {
            if (!(await ask({ title: `Delete ${filter.name}?`, body: [h("p", {}, "The filter is removed; files cut with it stay.")], confirm: "Delete filter", danger: true }))) return;
            await api.deleteFilter(filter.id);
            await refresh();
            heading.focus();
            announce(`Deleted the filter ${filter.name}.`, "ok");
          },
          { class: "danger small" },
        ),
      ),
    );
  };

  files = await api.listFiles(signal);
  await refresh();
}
