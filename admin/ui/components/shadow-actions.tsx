import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import type {
  BackendList,
  BackfillView,
  ShadowModeName,
  ShadowView,
  StartBackfillRequest,
} from "../../src/api-types.js";
import { seg, send } from "../api.js";
import { useFetch } from "../use-fetch.js";
import { isRunning } from "./backfill-status.js";
import { ConfirmDialog } from "./confirm-dialog.js";

const MODES: { value: ShadowModeName; text: string }[] = [
  { value: "dual-write", text: "dual-write (mirror writes)" },
  { value: "shadow-read", text: "shadow-read (also compare sampled reads)" },
  { value: "read-shadow", text: "read-shadow (answer reads from the shadow)" },
];

type Dialog = "start" | "mode" | "backfill" | "cancel" | "promote" | "rollback" | "stop";

export interface ShadowActionsProps {
  view: ShadowView;
  backfill: BackfillView | undefined;
  /** A mutation succeeded: what to say, and the started backfill when there is one. */
  onDone: (message: string, backfill?: BackfillView) => void;
  onError: (error: unknown) => void;
}

/** The migration's buttons, each behind a confirmation dialog that holds the action's options. */
export function ShadowActions({ view, backfill, onDone, onError }: ShadowActionsProps) {
  const [dialog, setDialog] = useState<Dialog | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [backend, setBackend] = useState("");
  const [mode, setMode] = useState<ShadowModeName>(view.shadow?.mode ?? "dual-write");
  const [sampleRate, setSampleRate] = useState(String(view.shadow?.sampleRate ?? 1));
  const [recordsPerSecond, setRecordsPerSecond] = useState("");
  const backends = useFetch<BackendList>(dialog === "start" ? "/api/backends" : undefined);
  const ids = { backend: useId(), mode: useId(), rate: useId(), rps: useId() };
  const ns = seg(view.namespace);

  const open = (which: Dialog) => {
    onError(undefined);
    setMode(view.shadow?.mode ?? "dual-write");
    setSampleRate(String(view.shadow?.sampleRate ?? 1));
    setDialog(which);
  };
  const run = async (message: string, action: () => Promise<unknown>, startsBackfill = false) => {
    setDialog(undefined);
    setBusy(true);
    try {
      const answer = await action();
      onDone(message, startsBackfill ? (answer as BackfillView) : undefined);
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };
  const rate = () => (sampleRate.trim() === "" ? undefined : Number(sampleRate));

  const confirm = (force: boolean) => {
    switch (dialog) {
      case "start":
        return run(`Shadow started: ${mode} → ${backend}.`, () =>
          send("POST", `/api/shadow/${ns}/start`, { backend, mode, sampleRate: rate() }),
        );
      case "mode":
        return run(`Mode set to ${mode}.`, () =>
          send("POST", `/api/shadow/${ns}/mode`, { mode, sampleRate: rate() }),
        );
      case "backfill": {
        const body: StartBackfillRequest = { namespace: view.namespace };
        if (recordsPerSecond.trim() !== "") body.recordsPerSecond = Number(recordsPerSecond);
        return run("Backfill started.", () => send<BackfillView>("POST", "/api/backfill", body), true);
      }
      case "cancel":
        return run("Backfill cancelled.", () =>
          send("POST", `/api/backfill/${seg(backfill?.id ?? "")}/cancel`),
        );
      case "promote":
        return run("Promoted: the shadow is now the primary.", () =>
          send("POST", `/api/shadow/${ns}/promote`, { force }),
        );
      case "rollback":
        return run("Rolled back.", () => send("POST", `/api/shadow/${ns}/rollback`, { force }));
      case "stop":
        return run("Shadow stopped.", () => send("POST", `/api/shadow/${ns}/stop`));
      default:
        return undefined;
    }
  };

  const modeField = (
    <div class="field">
      <label for={ids.mode}>Mode</label>
      <select id={ids.mode} value={mode} onChange={(e) => setMode(e.currentTarget.value as ShadowModeName)}>
        {MODES.map((m) => (
          <option key={m.value} value={m.value}>
            {m.text}
          </option>
        ))}
      </select>
    </div>
  );
  const rateField = (
    <div class="field">
      <label for={ids.rate}>Sample rate (0–1, share of reads compared)</label>
      <input
        id={ids.rate}
        type="number"
        min={0}
        max={1}
        step="any"
        value={sampleRate}
        onInput={(e) => setSampleRate(e.currentTarget.value)}
      />
    </div>
  );
  // Backends that serve the namespace's pattern, other than its primary.
  const candidates = (backends.data?.backends ?? []).filter(
    (b) => b.name !== view.primary && b.patterns.includes(view.pattern),
  );
  const dialogs: Record<Dialog, () => JSX.Element> = {
    start: () => (
      <ConfirmDialog
        title="Start a shadow"
        confirmLabel="Start shadow"
        onConfirm={onConfirm}
        onCancel={cancel}
      >
        <div class="field">
          <label for={ids.backend}>Shadow backend</label>
          <select
            id={ids.backend}
            required
            value={backend}
            onChange={(e) => setBackend(e.currentTarget.value)}
          >
            <option value="">{backends.loading ? "Loading…" : "Choose a backend"}</option>
            {candidates.map((b) => (
              <option key={b.name} value={b.name}>
                {b.name} ({b.type})
              </option>
            ))}
          </select>
        </div>
        {modeField}
        {rateField}
      </ConfirmDialog>
    ),
    mode: () => (
      <ConfirmDialog
        title="Set the shadow mode"
        confirmLabel="Set mode"
        onConfirm={onConfirm}
        onCancel={cancel}
      >
        {modeField}
        {rateField}
      </ConfirmDialog>
    ),
    backfill: () => (
      <ConfirmDialog
        title="Start a backfill"
        message={`Copies every record of ${view.namespace} from ${view.primary} to ${view.shadow?.backend}.`}
        confirmLabel="Start backfill"
        onConfirm={onConfirm}
        onCancel={cancel}
      >
        <div class="field">
          <label for={ids.rps}>Records/s (optional limit)</label>
          <input
            id={ids.rps}
            type="number"
            min={1}
            step={1}
            value={recordsPerSecond}
            onInput={(e) => setRecordsPerSecond(e.currentTarget.value)}
          />
        </div>
      </ConfirmDialog>
    ),
    cancel: () => (
      <ConfirmDialog
        title="Cancel the backfill?"
        message="Records copied so far stay in the shadow."
        confirmLabel="Cancel backfill"
        danger
        onConfirm={onConfirm}
        onCancel={cancel}
      />
    ),
    promote: () => (
      <ConfirmDialog
        title={`Promote ${view.shadow?.backend}?`}
        message={`${view.shadow?.backend} becomes the primary of ${view.namespace}; ${view.primary} becomes its shadow and keeps receiving mirrored writes, so a rollback loses nothing.`}
        confirmLabel="Promote"
        offerForce
        danger
        onConfirm={onConfirm}
        onCancel={cancel}
      />
    ),
    rollback: () => (
      <ConfirmDialog
        title="Roll back?"
        message={`${view.shadow?.backend} becomes the primary of ${view.namespace} again; ${view.primary} goes back to being its shadow.`}
        confirmLabel="Roll back"
        offerForce
        danger
        onConfirm={onConfirm}
        onCancel={cancel}
      />
    ),
    stop: () => (
      <ConfirmDialog
        title="Stop the shadow?"
        message={`Writes stop being mirrored to ${view.shadow?.backend}.`}
        confirmLabel="Stop shadow"
        danger
        onConfirm={onConfirm}
        onCancel={cancel}
      />
    ),
  };
  function cancel() {
    setDialog(undefined);
  }
  function onConfirm({ force }: { force: boolean }) {
    void confirm(force);
  }

  const running = isRunning(backfill);
  return (
    <div class="toolbar actions">
      {view.shadow ? (
        <>
          <button type="button" data-testid="set-mode" disabled={busy} onClick={() => open("mode")}>
            Set mode
          </button>
          {running ? (
            <button
              type="button"
              data-testid="cancel-backfill"
              disabled={busy}
              onClick={() => open("cancel")}
            >
              Cancel backfill
            </button>
          ) : (
            <button
              type="button"
              data-testid="start-backfill"
              disabled={busy}
              onClick={() => open("backfill")}
            >
              Start backfill
            </button>
          )}
          <button
            type="button"
            class="primary"
            data-testid="promote"
            disabled={busy}
            onClick={() => open("promote")}
          >
            Promote
          </button>
          <button type="button" data-testid="rollback" disabled={busy} onClick={() => open("rollback")}>
            Rollback
          </button>
          <button
            type="button"
            class="danger"
            data-testid="stop-shadow"
            disabled={busy}
            onClick={() => open("stop")}
          >
            Stop shadow
          </button>
        </>
      ) : (
        <button
          type="button"
          class="primary"
          data-testid="start-shadow"
          disabled={busy}
          onClick={() => open("start")}
        >
          Start shadow
        </button>
      )}
      {dialog ? dialogs[dialog]() : null}
    </div>
  );
}
