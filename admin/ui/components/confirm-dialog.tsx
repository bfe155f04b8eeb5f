import type { ComponentChildren } from "preact";
import { useId, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface ConfirmDialogProps {
  title: string;
  /** What happens, in a sentence or two; form fields for the action go in `children`. */
  message?: ComponentChildren;
  children?: ComponentChildren;
  confirmLabel: string;
  /** The user must type this (a namespace name) before the confirm button works. */
  requireText?: string;
  /** Offer a "force" checkbox (promote, rollback: skip the safety checks). */
  offerForce?: boolean;
  danger?: boolean;
  onConfirm: (options: { force: boolean }) => void;
  onCancel: () => void;
}

/**
 * A modal confirmation: open while mounted (native `<dialog>` with `showModal`, so focus stays
 * inside and Escape cancels). Render one at a time; the caller unmounts it on confirm or cancel.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const [typed, setTyped] = useState("");
  const [force, setForce] = useState(false);
  const titleId = useId();
  const inputId = useId();
  const forceId = useId();
  // The latest onCancel, so a caller's inline arrow does not reopen the dialog on each render.
  const onCancel = useRef(props.onCancel);
  onCancel.current = props.onCancel;

  // A layout effect: the dialog is modal in the same frame it is rendered, so no key or click
  // reaches the page behind it in between.
  useLayoutEffect(() => {
    const element = dialog.current;
    if (!element) return undefined;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
    element.showModal();
    const firstField = element.querySelector<HTMLElement>(
      ".field input:not([type=checkbox]), .field select, .field textarea",
    );
    (firstField ?? cancelButton.current)?.focus();
    // Escape closes a modal dialog natively (not always with a `cancel` event first): follow it.
    const onClose = () => onCancel.current();
    element.addEventListener("close", onClose);
    return () => {
      element.removeEventListener("close", onClose);
      if (element.open) element.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  const ready = props.requireText === undefined || typed === props.requireText;
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby={titleId}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (ready) props.onConfirm({ force });
        }}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.message ? <div class="dialog-message">{props.message}</div> : null}
        {props.children}
        {props.requireText !== undefined ? (
          <div class="field">
            <label for={inputId}>
              Type <code>{props.requireText}</code> to confirm
            </label>
            <input
              id={inputId}
              data-testid="confirm-input"
              autocomplete="off"
              spellcheck={false}
              value={typed}
              onInput={(event) => setTyped(event.currentTarget.value)}
            />
          </div>
        ) : null}
        {props.offerForce ? (
          <div class="field checkbox">
            <input
              id={forceId}
              type="checkbox"
              data-testid="force"
              checked={force}
              onChange={(event) => setForce(event.currentTarget.checked)}
            />
            <label for={forceId}>Force (skip the safety checks)</label>
          </div>
        ) : null}
        <div class="dialog-buttons">
          <button
            type="button"
            ref={cancelButton}
            data-testid="confirm-cancel"
            onClick={() => props.onCancel()}
          >
            Cancel
          </button>
          <button
            type="submit"
            class={props.danger ? "danger" : "primary"}
            data-testid="confirm-ok"
            disabled={!ready}
          >
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
