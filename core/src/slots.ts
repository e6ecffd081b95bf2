import type { DependencyContainer } from 'tsyringe';
import type { SlotMeta, SlotRegistry } from '@switchyard/sdk';
import { CoreErrors } from './errors';

export interface SlotEntry {
  slot: string;
  name: string;
  owner: string;
  meta: SlotMeta;
}

/**
 * Named slots backed by the gateway's DI container: an implementation is registered as the
 * token `switchyard.<slot>.<name>`. Lookups happen at load, never per request.
 */
export class ContainerSlotRegistry implements SlotRegistry {
  readonly entries: SlotEntry[] = [];
  #container: DependencyContainer;
  #owner = '@switchyard/core';

  constructor(container: DependencyContainer) {
    this.#container = container;
  }

  /** The plugin whose register step is running, to name it in listings and errors. */
  setOwner(owner: string): void {
    this.#owner = owner;
  }

  static token(slot: string, name: string): string {
    return `switchyard.${slot}.${name}`;
  }

  provide<T>(slot: string, name: string, impl: T, meta: SlotMeta = {}): void {
    const existing = this.entries.find((e) => e.slot === slot && e.name === name);
    if (existing) throw CoreErrors.SLOT_DUPLICATE(slot, name, existing.owner, this.#owner);
    this.#container.register(ContainerSlotRegistry.token(slot, name), { useValue: impl });
    this.entries.push({ slot, name, owner: this.#owner, meta });
  }

  get<T>(slot: string, name: string): T | undefined {
    const token = ContainerSlotRegistry.token(slot, name);
    return this.#container.isRegistered(token, true) ? this.#container.resolve<T>(token) : undefined;
  }

  names(slot: string): string[] {
    return this.entries.filter((e) => e.slot === slot).map((e) => e.name);
  }
}
