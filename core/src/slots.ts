import { checkSlotShape, slotShape, type SlotMeta, type SlotRegistry } from '@switchyard/sdk';
import { CoreErrors } from './errors';

export interface SlotEntry {
  slot: string;
  name: string;
  owner: string;
  meta: SlotMeta;
}

/**
 * Named slots of one gateway generation. `provide` checks an implementation against the
 * shape its slot's owner declared (`defineSlot(name, shape)`), so a policy that is not a
 * class, or a class without `select()`, is refused at load with the providing plugin named.
 * Lookups happen at load, never per request.
 */
export class SlotTable implements SlotRegistry {
  readonly entries: SlotEntry[] = [];
  readonly #impls = new Map<string, Map<string, unknown>>();
  #owner = '@switchyard/core';

  /** The plugin whose register step is running, to name it in listings and errors. */
  setOwner(owner: string): void {
    this.#owner = owner;
  }

  provide(slot: string, name: string, impl: unknown, meta: SlotMeta = {}): void {
    const existing = this.entries.find((e) => e.slot === slot && e.name === name);
    if (existing) throw CoreErrors.SLOT_DUPLICATE.with({ plugin: this.#owner }, slot, name, existing.owner, this.#owner);
    const shape = slotShape(slot);
    const problem = shape ? checkSlotShape(shape, impl) : undefined;
    if (shape && problem) throw CoreErrors.SLOT_SHAPE.with({ plugin: this.#owner }, this.#owner, slot, name, shape.expected, problem);
    let byName = this.#impls.get(slot);
    if (!byName) this.#impls.set(slot, (byName = new Map()));
    byName.set(name, impl);
    this.entries.push({ slot, name, owner: this.#owner, meta });
  }

  get<T>(slot: string, name: string): T | undefined {
    return this.#impls.get(slot)?.get(name) as T | undefined;
  }

  names(slot: string): string[] {
    return this.entries.filter((e) => e.slot === slot).map((e) => e.name);
  }

  ownerOf(slot: string, name: string): string | undefined {
    return this.entries.find((e) => e.slot === slot && e.name === name)?.owner;
  }
}

/** @deprecated the old name (slots were once kept in a tsyringe container). */
export const ContainerSlotRegistry = SlotTable;
export type ContainerSlotRegistry = SlotTable;
