import type { NamespaceList } from "../../src/api-types.js";
import { ErrorAlert } from "../components/error-alert.js";
import { TrafficCharts } from "../components/traffic-charts.js";
import { href } from "../router.js";
import { useTrafficFeed } from "../traffic-feed.js";
import { useFetch } from "../use-fetch.js";

/** `#/traffic`: live charts per namespace, from the app's one traffic stream. */
export function TrafficPage() {
  const feed = useTrafficFeed();
  const list = useFetch<NamespaceList>("/api/namespaces");
  // Namespaces known to the server, plus any the feed reports (e.g. one deleted since).
  const names = [
    ...new Set([...(list.data?.namespaces.map((ns) => ns.name) ?? []), ...feed.series.keys()]),
  ].sort();

  return (
    <>
      <header class="page-header">
        <h1>Traffic</h1>
        <p class="muted">Live, one point a second; the last 300 points per namespace.</p>
      </header>
      <ErrorAlert error={list.error} />
      {feed.available === false ? (
        <p class="notice" role="status">
          Traffic needs the gateway's metrics (metrics.enabled).
        </p>
      ) : feed.available === undefined ? (
        <p class="muted">Waiting for the traffic stream…</p>
      ) : (
        names.map((name) => (
          <section key={name} class="card" aria-labelledby={`traffic-${name}`}>
            <h2 id={`traffic-${name}`}>
              <a href={href("namespace", name)}>{name}</a>
            </h2>
            <TrafficCharts name={name} />
          </section>
        ))
      )}
    </>
  );
}
