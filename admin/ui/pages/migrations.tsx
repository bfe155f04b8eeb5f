import { useEffect, useState } from "preact/hooks";
import type { BackfillView, NamespaceList } from "../../src/api-types.js";
import { ApiFailure, getJson, seg } from "../api.js";
import { BackfillStatus, isRunning } from "../components/backfill-status.js";
import { ErrorAlert } from "../components/error-alert.js";
import { ShadowActions } from "../components/shadow-actions.js";
import { formatCount, formatPercent, formatTime } from "../format.js";
import { href } from "../router.js";
import { useFetch } from "../use-fetch.js";
import { shadowText } from "./namespaces.js";
import { useShadowView } from "./use-shadow-view.js";

/** `#/migrations`: the namespaces with a shadow, and links to start one elsewhere. */
export function MigrationsListPage() {
  const { data, error, loading } = useFetch<NamespaceList>("/api/namespaces");
  const shadowed = data?.namespaces.filter((ns) => ns.shadow) ?? [];
  const others = data?.namespaces.filter((ns) => !ns.shadow && ns.source === "store") ?? [];
  return (
    <>
      <header class="page-header">
        <h1>Migrations</h1>
      </header>
      <ErrorAlert error={error} />
      {loading && !data ? <p class="muted">Loading…</p> : null}
      {data && shadowed.length === 0 ? <p class="muted">No namespace has a shadow.</p> : null}
      {shadowed.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Namespace</th>
                <th scope="col">Primary</th>
                <th scope="col">Shadow</th>
              </tr>
            </thead>
            <tbody>
              {shadowed.map((ns) => (
                <tr key={ns.name} data-testid={`migration-row-${ns.name}`}>
                  <td>
                    <a href={href("migrations", ns.name)}>{ns.name}</a>
                  </td>
                  <td>{ns.backend}</td>
                  <td>{shadowText(ns.shadow)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {others.length > 0 ? (
        <>
          <h2>Start a migration</h2>
          <ul class="inline-list">
            {others.map((ns) => (
              <li key={ns.name}>
                <a href={href("migrations", ns.name)}>{ns.name}</a>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}

/** `#/migrations/NAME`: the shadow's counters, the backfill's progress and the migration's actions. */
export function MigrationPage({ name }: { name: string }) {
  const shadow = useShadowView(name);
  const [started, setStarted] = useState<BackfillView | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const view = shadow.data;
  // A backfill started here may not show in the view yet: follow it by its id until it does.
  const backfill = started && view?.backfill?.id !== started.id ? started : view?.backfill;
  const running = isRunning(backfill);

  // The one timer-driven fetch: while a backfill runs, its status once a second.
  useEffect(() => {
    if (!running) return undefined;
    const timer = setTimeout(() => {
      shadow.reload();
      if (started && backfill === started) {
        getJson<BackfillView>(`/api/backfill/${seg(started.id)}`).then(setStarted, setError);
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [view, started, running, shadow.error]);

  const unsafe = error instanceof ApiFailure && error.detail.reason === "SHADOW_PROMOTE_UNSAFE";
  return (
    <>
      <header class="page-header">
        <h1>Migration of {name}</h1>
        <div class="toolbar">
          <a href={href("namespace", name)}>Namespace</a>
          <button type="button" onClick={shadow.reload}>
            Refresh
          </button>
        </div>
      </header>
      <ErrorAlert error={error ?? shadow.error} onDismiss={error ? () => setError(undefined) : undefined} />
      {unsafe ? (
        <p class="muted">To promote or roll back anyway, open the dialog again and tick “Force”.</p>
      ) : null}
      {notice ? (
        <p class="notice ok" role="status">
          {notice}
        </p>
      ) : null}
      {view ? (
        <>
          <dl class="fields">
            <dt>Mode</dt>
            <dd data-testid="shadow-mode">{view.shadow ? view.shadow.mode : "no shadow"}</dd>
            <dt>Primary</dt>
            <dd data-testid="shadow-primary">{view.primary}</dd>
            <dt>Shadow</dt>
            <dd>{view.shadow ? `${view.shadow.backend} (sample rate ${view.shadow.sampleRate})` : "—"}</dd>
            <dt>Generation</dt>
            <dd>{view.generation}</dd>
            <dt>Gateways</dt>
            <dd>{view.gateways}</dd>
            <dt>Dual-write queue</dt>
            <dd data-testid="queue-depth">{formatCount(view.queueDepth)}</dd>
            <dt>Writes</dt>
            <dd>
              {formatCount(view.writes.ok)} ok, {formatCount(view.writes.failed)} failed,{" "}
              {formatCount(view.writes.dropped)} dropped
            </dd>
            <dt>Reads compared</dt>
            <dd>
              {formatCount(view.reads.match)} match, {formatCount(view.reads.mismatch)} mismatch,{" "}
              {formatCount(view.reads.failed)} failed
            </dd>
            <dt>Read match rate</dt>
            <dd data-testid="match-rate">{formatPercent(view.matchRate)}</dd>
          </dl>
          <ShadowActions
            view={view}
            backfill={backfill}
            onDone={(message, startedBackfill) => {
              setNotice(message);
              if (startedBackfill) setStarted(startedBackfill);
              shadow.reload();
            }}
            onError={(failure) => {
              setError(failure);
              if (failure !== undefined) setNotice(undefined);
            }}
          />
          <section aria-labelledby="backfill-heading">
            <h2 id="backfill-heading">Backfill</h2>
            {backfill ? <BackfillStatus backfill={backfill} /> : <p class="muted">No backfill yet.</p>}
          </section>
          <section aria-labelledby="mismatch-heading">
            <h2 id="mismatch-heading">Recent mismatches</h2>
            {view.mismatches.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Record</th>
                      <th scope="col">Difference</th>
                      <th scope="col">Time</th>
                    </tr>
                  </thead>
                  <tbody>
                    {view.mismatches.map((m, i) => (
                      <tr key={`${m.time}:${m.id}:${i}`}>
                        <td>
                          <code>{m.id}</code>
                        </td>
                        <td class="wrap">{m.summary}</td>
                        <td>{formatTime(m.time)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      ) : shadow.loading ? (
        <p class="muted">Loading…</p>
      ) : null}
    </>
  );
}
