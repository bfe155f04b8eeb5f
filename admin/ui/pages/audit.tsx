import { useId, useState } from "preact/hooks";
import type { AuditList } from "../../src/api-types.js";
import { ErrorAlert } from "../components/error-alert.js";
import { formatTime } from "../format.js";
import { useFetch } from "../use-fetch.js";

interface Filters {
  namespace: string;
  principal: string;
  /** `datetime-local` values (local time, no zone). */
  since: string;
  until: string;
  limit: string;
}

const EMPTY: Filters = { namespace: "", principal: "", since: "", until: "", limit: "100" };

/** `#/audit`: the PII audit log, filtered on the server. */
export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [query, setQuery] = useState(() => auditPath(EMPTY));
  const { data, error, loading, reload } = useFetch<AuditList>(query);
  const ids = { namespace: useId(), principal: useId(), since: useId(), until: useId(), limit: useId() };
  const field = (key: keyof Filters) => ({
    id: ids[key],
    value: draft[key],
    onInput: (event: { currentTarget: HTMLInputElement }) =>
      setDraft({ ...draft, [key]: event.currentTarget.value }),
  });

  return (
    <>
      <header class="page-header">
        <h1>Audit log</h1>
      </header>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const next = auditPath(draft);
          if (next === query) reload();
          else setQuery(next);
        }}
      >
        <div class="field">
          <label for={ids.namespace}>Namespace</label>
          <input {...field("namespace")} autocomplete="off" />
        </div>
        <div class="field">
          <label for={ids.principal}>Principal</label>
          <input {...field("principal")} autocomplete="off" placeholder="user:alice" />
        </div>
        <div class="field">
          <label for={ids.since}>Since</label>
          <input type="datetime-local" step={1} {...field("since")} />
        </div>
        <div class="field">
          <label for={ids.until}>Until</label>
          <input type="datetime-local" step={1} {...field("until")} />
        </div>
        <div class="field narrow">
          <label for={ids.limit}>Limit</label>
          <input type="number" min={1} max={10000} {...field("limit")} />
        </div>
        <div class="field buttons">
          <button type="submit" class="primary" disabled={loading}>
            Search
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {data && !data.available ? (
        <p class="notice" role="status">
          The gateway keeps no audit log: no namespace has PII fields to audit.
        </p>
      ) : null}
      {data?.available ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col" class="num">
                  #
                </th>
                <th scope="col">Time</th>
                <th scope="col">Principal</th>
                <th scope="col">Namespace</th>
                <th scope="col">Action</th>
                <th scope="col">Record</th>
                <th scope="col">Fields</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((entry) => (
                <tr key={entry.sequence} data-testid="audit-row">
                  <td class="num">{entry.sequence}</td>
                  <td>{formatTime(entry.time)}</td>
                  <td>{entry.principal}</td>
                  <td>{entry.namespace}</td>
                  <td>{entry.action}</td>
                  <td>
                    <code>{entry.recordId}</code>
                  </td>
                  <td class="wrap">{entry.fields.join(", ") || "—"}</td>
                </tr>
              ))}
              {data.entries.length === 0 ? (
                <tr>
                  <td colSpan={7} class="muted">
                    No entries match.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : null}
      {loading && !data ? <p class="muted">Loading…</p> : null}
    </>
  );
}

/** `/api/audit?…` with the filled filters; datetime-local values are read as local time. */
function auditPath(filters: Filters): string {
  const params = new URLSearchParams();
  if (filters.namespace.trim()) params.set("namespace", filters.namespace.trim());
  if (filters.principal.trim()) params.set("principal", filters.principal.trim());
  for (const key of ["since", "until"] as const) {
    const date = filters[key] ? new Date(filters[key]) : undefined;
    if (date && !Number.isNaN(date.getTime())) params.set(key, date.toISOString());
  }
  if (filters.limit.trim()) params.set("limit", filters.limit.trim());
  const text = params.toString();
  return text ? `/api/audit?${text}` : "/api/audit";
}
