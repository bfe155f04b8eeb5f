import type { KvItem, TsEvent } from "@prism/core";
import type { ValueCall, ValuePolicy } from "./contract.js";

/**
 * The KeyValue and TimeSeries services' side of a namespace's {@link ValuePolicy}: values to
 * store (Put, Mutate, Write) and values read (Get, Scan, Read, Tail), all of a call at once. The
 * services call these only when `ResolvedNamespace.values` is set.
 */

/** Items as stored: each value through `toStorage` (new item objects; the request's stay as sent). */
export function itemsToStorage(
  values: ValuePolicy,
  id: string,
  items: readonly KvItem[],
  call: ValueCall,
): Promise<KvItem[]> {
  return Promise.all(
    items.map(async (item) => ({ ...item, value: await values.toStorage(id, item.value, call) })),
  );
}

/** Answer items (fresh wire messages) as this caller sees them, in place. */
export async function itemsFromStorage(
  values: ValuePolicy,
  id: string,
  items: readonly { value: Uint8Array }[],
  call: ValueCall,
): Promise<void> {
  await Promise.all(
    items.map(async (item) => {
      item.value = await values.fromStorage(id, item.value, call);
    }),
  );
}

/** Events as stored: each payload through `toStorage`, bound to the series id. */
export function eventsToStorage(
  values: ValuePolicy,
  seriesId: string,
  events: readonly TsEvent[],
  call: ValueCall,
): Promise<TsEvent[]> {
  return Promise.all(
    events.map(async (event) => ({
      ...event,
      payload: await values.toStorage(seriesId, event.payload, call),
    })),
  );
}

/** Answer events (fresh wire messages) as this caller sees them, in place. */
export async function eventsFromStorage(
  values: ValuePolicy,
  seriesId: string,
  events: readonly { payload: Uint8Array }[],
  call: ValueCall,
): Promise<void> {
  await Promise.all(
    events.map(async (event) => {
      event.payload = await values.fromStorage(seriesId, event.payload, call);
    }),
  );
}
