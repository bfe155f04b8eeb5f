import { useId, useMemo, useRef } from "preact/hooks";
import { offsetOfLine, violationLines } from "../yaml-lines.js";

export interface YamlEditorProps {
  value: string;
  onInput: (value: string) => void;
  readOnly?: boolean;
  /** The server's field violations; placed on the lines of the current text as it is edited. */
  violations: readonly { field: string; description: string }[];
  label?: string;
}

/** A monospace `<textarea>` with line numbers, error markers in the gutter and a clickable problem list. */
export function YamlEditor({
  value,
  onInput,
  readOnly,
  violations,
  label = "Namespace YAML",
}: YamlEditorProps) {
  const id = useId();
  const listId = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const placed = useMemo(() => violationLines(value, violations), [value, violations]);
  const lineCount = value.split("\n").length;
  const byLine = new Map<number, string[]>();
  for (const v of placed) byLine.set(v.line, [...(byLine.get(v.line) ?? []), `${v.field}: ${v.description}`]);
  const rows = Math.min(Math.max(lineCount + 1, 10), 28);

  const goTo = (line: number) => {
    const element = textarea.current;
    if (!element) return;
    const start = offsetOfLine(value, line);
    const newline = value.indexOf("\n", start);
    element.focus();
    element.setSelectionRange(start, newline < 0 ? value.length : newline);
    const lineHeight = Number.parseFloat(getComputedStyle(element).lineHeight) || 20;
    element.scrollTop = Math.max(0, (line - 1) * lineHeight - element.clientHeight / 3);
    syncGutter();
  };
  const syncGutter = () => {
    if (gutter.current && textarea.current) gutter.current.scrollTop = textarea.current.scrollTop;
  };

  return (
    <div class="yaml-editor">
      <label for={id}>{label}</label>
      <div class="editor-frame" style={{ "--rows": rows }}>
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => {
            const problems = byLine.get(i + 1);
            return (
              <div
                key={i}
                class={problems ? "gutter-line has-error" : "gutter-line"}
                title={problems?.join("\n")}
              >
                {problems ? <span class="gutter-marker">●</span> : null}
                {i + 1}
              </div>
            );
          })}
        </div>
        <textarea
          id={id}
          ref={textarea}
          data-testid="yaml-editor"
          class="code"
          wrap="off"
          spellcheck={false}
          autocomplete="off"
          autocapitalize="off"
          readOnly={readOnly}
          aria-invalid={placed.length > 0}
          aria-describedby={placed.length > 0 ? listId : undefined}
          value={value}
          onInput={(event) => onInput(event.currentTarget.value)}
          onScroll={syncGutter}
        />
      </div>
      {placed.length > 0 ? (
        <ul class="violations" id={listId} aria-label="Problems in the YAML">
          {placed.map((v, i) => (
            <li key={`${i}:${v.field}`}>
              <button type="button" class="link-button" data-testid="violation" onClick={() => goTo(v.line)}>
                line {v.line}: {v.field}: {v.description}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
