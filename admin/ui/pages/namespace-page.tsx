import { useState } from "preact/hooks";
import type { ApplyResult, NamespaceDetail } from "../../src/api-types.js";
import { ApiFailure, seg, send } from "../api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ErrorAlert } from "../components/error-alert.js";
import { NamespaceFields } from "../components/namespace-fields.js";
import { TrafficCharts } from "../components/traffic-charts.js";
import { YamlEditor } from "../components/yaml-editor.js";
import { href, navigate } from "../router.js";
import { useFetch } from "../use-fetch.js";

const TEMPLATE = `name: my-namespace
pattern: keyvalue
backend: memory
access:
  read: []
  write: []
limits:
  rps: 1000
`;

type Violation = { field: string; description: string };
type Outcome = { kind: "valid" | "applied"; text: string };

/** An apply's message carried over the navigation to the namespace it created. */
let carriedOutcome: { name: string; outcome: Outcome } | undefined;

/** `#/namespaces/NAME` (edit, validate, apply, delete) and `#/new-namespace` (name undefined). */
export function NamespacePage({ name }: { name?: string }) {
  const detail = useFetch<NamespaceDetail>(name === undefined ? undefined : `/api/namespaces/${seg(name)}`);
  // Undefined until the user edits: the editor then shows the server's YAML as soon as it arrives.
  const [edited, setEdited] = useState<string | undefined>(name === undefined ? TEMPLATE : undefined);
  const yaml = edited ?? detail.data?.yaml ?? "";
  const [violations, setViolations] = useState<Violation[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [outcome, setOutcome] = useState<Outcome | undefined>(() => takeCarried(name));
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const ns = detail.data?.namespace;
  const readOnly = ns?.source === "config";
  const ready = name === undefined || detail.data !== undefined;

  const submit = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    try {
      const result = await send<ApplyResult>("POST", "/api/namespaces", { yaml, dryRun });
      setViolations([]);
      const applied = result.namespace.name;
      const verb = result.created ? "create" : "update";
      if (dryRun) {
        setOutcome({ kind: "valid", text: `Valid: applying would ${verb} ${applied}.` });
        return;
      }
      const text = `Applied: ${result.created ? "created" : "updated"} ${applied} (version ${result.namespace.version}).`;
      if (applied !== name) {
        carriedOutcome = { name: applied, outcome: { kind: "applied", text } };
        navigate(href("namespace", applied));
      } else {
        setOutcome({ kind: "applied", text });
        detail.reload();
      }
    } catch (failure) {
      setError(failure);
      setViolations(failure instanceof ApiFailure ? violationsOf(failure) : []);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!name) return;
    setConfirmDelete(false);
    setBusy(true);
    setError(undefined);
    try {
      await send("DELETE", `/api/namespaces/${seg(name)}`);
      navigate("#/namespaces");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <header class="page-header">
        <h1>{name === undefined ? "New namespace" : name}</h1>
        {name !== undefined ? (
          <div class="toolbar">
            <a href={href("migrations", name)}>Migrations</a>
          </div>
        ) : null}
      </header>
      <ErrorAlert error={error ?? detail.error} onDismiss={error ? () => setError(undefined) : undefined} />
      {outcome ? (
        <p
          class="notice ok"
          role="status"
          data-testid={outcome.kind === "applied" ? "apply-ok" : "validate-ok"}
        >
          {outcome.text}
        </p>
      ) : null}
      {ns ? <NamespaceFields ns={ns} /> : null}
      {ready ? (
        <section class="editor-section" aria-label="YAML">
          <YamlEditor value={yaml} onInput={setEdited} readOnly={readOnly} violations={violations} />
          {readOnly ? (
            <p class="muted" id="read-only-note">
              This namespace is declared in the gateway config file: change it there. It cannot be applied or
              deleted here.
            </p>
          ) : null}
          <div class="toolbar">
            <button
              type="button"
              data-testid="validate"
              disabled={busy || readOnly}
              aria-describedby={readOnly ? "read-only-note" : undefined}
              onClick={() => submit(true)}
            >
              Validate
            </button>
            <button
              type="button"
              class="primary"
              data-testid="apply"
              disabled={busy || readOnly}
              aria-describedby={readOnly ? "read-only-note" : undefined}
              onClick={() => submit(false)}
            >
              Apply
            </button>
            {name !== undefined ? (
              <button
                type="button"
                class="danger"
                data-testid="delete"
                disabled={busy || readOnly || !ns}
                aria-describedby={readOnly ? "read-only-note" : undefined}
                onClick={() => setConfirmDelete(true)}
              >
                Delete
              </button>
            ) : null}
          </div>
        </section>
      ) : detail.loading ? (
        <p class="muted">Loading…</p>
      ) : null}
      {ns ? (
        <section aria-labelledby="traffic-heading">
          <h2 id="traffic-heading">Traffic</h2>
          <TrafficCharts name={ns.name} height={120} />
        </section>
      ) : null}
      {confirmDelete && name ? (
        <ConfirmDialog
          title={`Delete ${name}?`}
          message="Its data stays in the backend, but no call can reach it through the gateway any more."
          confirmLabel="Delete"
          requireText={name}
          danger
          onConfirm={remove}
          onCancel={() => setConfirmDelete(false)}
        />
      ) : null}
    </>
  );
}

function takeCarried(name: string | undefined): Outcome | undefined {
  if (!carriedOutcome || carriedOutcome.name !== name) return undefined;
  const { outcome } = carriedOutcome;
  carriedOutcome = undefined;
  return outcome;
}

/**
 * The failure's field violations; an INVALID_NAMESPACE without any (an older gateway) is split
 * from its message, "invalid namespace: limits.rps: must be ...; (root): ...".
 */
function violationsOf(failure: ApiFailure): Violation[] {
  const { violations, reason, message } = failure.detail;
  if (violations.length > 0 || reason !== "INVALID_NAMESPACE") return violations;
  const problems = message.replace(/^invalid namespace:\s*/, "").split("; ");
  return problems.map((problem) => {
    const at = problem.indexOf(": ");
    const field = at > 0 ? problem.slice(0, at) : "";
    return /^[\w.()[\]-]+$/.test(field)
      ? { field, description: problem.slice(at + 2) }
      : { field: "(root)", description: problem };
  });
}
