import type { NamespaceList, NamespaceView } from "../../src/api-types.js";
import { ErrorAlert } from "../components/error-alert.js";
import { formatRate } from "../format.js";
import { href, navigate } from "../router.js";
import { useTrafficFeed } from "../traffic-feed.js";
import { useFetch } from "../use-fetch.js";

/** `#/namespaces`: every namespace, its shadow and its live request rate. */
export function NamespacesPage() {
  const { data, error, loading, reload } = useFetch<NamespaceList>("/api/namespaces");
  const feed = useTrafficFeed();
  // Before the first tick the server's own estimate stands in.
  const rateOf = (ns: NamespaceView) =>
    feed.available === undefined ? ns.requestRate : (feed.rates[ns.name] ?? 0);

  return (
    <>
      <header class="page-header">
        <h1>Namespaces</h1>
        <div class="toolbar">
          <button type="button" onClick={reload}>
            Refresh
          </button>
          <button
            type="button"
            class="primary"
            data-testid="new-namespace"
            onClick={() => navigate("#/new-namespace")}
          >
            New namespace
          </button>
        </div>
      </header>
      <ErrorAlert error={error} />
      {data ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Pattern</th>
                <th scope="col">Backend</th>
                <th scope="col">Shadow</th>
                <th scope="col" class="num">
                  Requests/s
                </th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {data.namespaces.map((ns) => (
                <tr key={ns.name} data-testid={`namespace-row-${ns.name}`}>
                  <td>
                    <a href={href("namespace", ns.name)}>{ns.name}</a>
                  </td>
                  <td>{ns.pattern}</td>
                  <td>{ns.backend}</td>
                  <td>{shadowText(ns.shadow)}</td>
                  <td class="num" data-testid={`namespace-rate-${ns.name}`} aria-live="polite">
                    {formatRate(rateOf(ns))}
                  </td>
                  <td>{ns.source}</td>
                </tr>
              ))}
              {data.namespaces.length === 0 ? (
                <tr>
                  <td colSpan={6} class="muted">
                    No namespaces yet.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : loading ? (
        <p class="muted">Loading…</p>
      ) : null}
    </>
  );
}

/** "—" or "dual-write → nats". */
export function shadowText(shadow: NamespaceView["shadow"]): string {
  return shadow ? `${shadow.mode} → ${shadow.backend}` : "—";
}
