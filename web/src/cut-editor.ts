// The cut page's form: which columns to keep, and a list of clauses (one per column) that every kept
// row must pass.
import { clauseText, OPERATORS, parseClauseText, type Clause, type FilterSettings, type Operator } from "./clauses";
import { button, field, h, input, select } from "./dom";
import { UserError } from "./pages/forms";

export interface CutEditor {
  element: HTMLElement;
  /** The columns to keep (in the file's order) and the clause text per column. */
  read(): { columns: string[]; clauses: Record<string, string>; allColumns: boolean };
  /** Sets the form from a saved filter; returns the columns it names that this file lacks. */
  apply(settings: FilterSettings): string[];
}

export function cutEditor(fileColumns: string[]): CutEditor {
  // The API matches column names trimmed, and each once.
  const columns = [...new Map(fileColumns.map((c) => [c.trim(), c])).keys()];
  const boxes = columns.map((c) => h("input", { type: "checkbox", value: c, checked: true }));
  const checkAll = (on: boolean) => boxes.forEach((b) => (b.checked = on));
  const columnList = h("ul", { class: "columns-list" }, ...boxes.map((box, i) => h("li", {}, h("label", { class: "check" }, box, " ", columns[i] || "(blank name)"))));
  const columnSet = h(
    "fieldset",
    { class: "card" },
    h("legend", {}, "Columns to keep"),
    h("div", { class: "actions" }, button("Select all", () => checkAll(true), { class: "secondary small" }), button("Select none", () => checkAll(false), { class: "secondary small" })),
    columnList,
  );

  const clauseList = h("ol", { class: "clauses" });
  const rows: ClauseRow[] = [];
  const renumber = () => rows.forEach((r, i) => r.number(i + 1));
  const addRow = (clause?: Clause) => {
    const r = clauseRow(columns, clause, () => {
      rows.splice(rows.indexOf(r), 1);
      r.element.remove();
      renumber();
      addButton.focus();
    });
    rows.push(r);
    clauseList.append(r.element);
    renumber();
    return r;
  };
  const addButton = button("Add a clause", () => addRow().focus(), { class: "secondary" });
  const clauseSet = h(
    "fieldset",
    { class: "card" },
    h("legend", {}, "Filter rows"),
    h("p", { class: "hint" }, "A row is kept when it passes every clause; with no clause, every row is kept. One clause per column. Order comparisons and BETWEEN need numbers: a cell that is not a number fails them."),
    clauseList,
    addButton,
  );

  return {
    element: h("div", { class: "cut-editor" }, columnSet, clauseSet),
    read() {
      const kept = columns.filter((_, i) => boxes[i]!.checked);
      const clauses: Record<string, string> = {};
      for (const r of rows) {
        const clause = r.read();
        if (clause.column in clauses) throw new UserError(`Only one clause per column: “${clause.column}” has more than one. Combine them (BETWEEN, IN) or remove one.`);
        clauses[clause.column] = clauseText(clause);
      }
      return { columns: kept, clauses, allColumns: kept.length === columns.length };
    },
    apply({ columns: keep, clauses }) {
      const missing: string[] = [];
      const wanted = keep === null ? null : new Set(keep.map((c) => c.trim()));
      boxes.forEach((b, i) => (b.checked = wanted === null || wanted.has(columns[i]!)));
      if (wanted) missing.push(...[...wanted].filter((c) => !columns.includes(c)));
      for (const r of rows.splice(0)) r.element.remove();
      for (const [column, text] of Object.entries(clauses)) {
        if (columns.includes(column.trim())) addRow(parseClauseText(column.trim(), text));
        else missing.push(column);
      }
      return [...new Set(missing)];
    },
  };
}

interface ClauseRow {
  element: HTMLLIElement;
  number(n: number): void;
  read(): Clause;
  focus(): void;
}

/** One clause: column, operator, and the value inputs the operator takes. */
function clauseRow(columns: string[], initial: Clause | undefined, remove: () => void): ClauseRow {
  const column = field("Column", select(columns.map((c) => [c, c || "(blank name)"] as const)));
  const operator = field("Operator", select(OPERATORS));
  const value = input({});
  const value2 = input({ inputmode: "decimal" });
  const first = field("Value", value);
  const second = field("To", value2);
  const legend = h("legend", {});
  const removeButton = button("Remove", remove, { class: "secondary small" });
  const fieldset = h("fieldset", { class: "clause" }, legend, column.wrapper, operator.wrapper, first.wrapper, second.wrapper, removeButton);

  /** The value inputs' labels, hints and checks follow the operator. */
  const shape = () => {
    const op = operator.control.value as Operator;
    const label = first.wrapper.querySelector("label")!;
    const hint = document.getElementById(`${value.id}-hint`);
    const numeric = op !== "=" && op !== "!=" && op !== "IN";
    label.textContent = op === "BETWEEN" ? "From" : op === "IN" ? "Values" : numeric ? "Number" : "Value";
    value.inputMode = numeric ? "decimal" : "text";
    value.required = op !== "=" && op !== "!=";
    value2.required = op === "BETWEEN";
    second.wrapper.hidden = op !== "BETWEEN";
    hint?.remove();
    if (op === "IN" || op === "=" || op === "!=") {
      const text = op === "IN" ? "Separate values with commas; put a value that holds a comma in quotes: 'New York, NY'." : "Compared as a number when both are numbers, else as text. Empty matches empty cells.";
      const hintEl = h("p", { class: "hint", id: `${value.id}-hint` }, text);
      label.after(hintEl);
      value.setAttribute("aria-describedby", `${hintEl.id} ${value.id}-error`);
    } else value.setAttribute("aria-describedby", `${value.id}-error`);
  };
  operator.control.addEventListener("change", shape);
  if (initial) {
    column.control.value = initial.column;
    operator.control.value = initial.operator;
    value.value = initial.value;
    value2.value = initial.value2;
  }
  shape();

  return {
    element: h("li", {}, fieldset),
    number(n) {
      legend.textContent = `Clause ${n}`;
      removeButton.setAttribute("aria-label", `Remove clause ${n}`);
    },
    read: () => ({ column: column.control.value, operator: operator.control.value as Operator, value: value.value, value2: value2.value }),
    focus: () => column.control.focus(),
  };
}
