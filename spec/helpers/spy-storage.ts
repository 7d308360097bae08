import sinon from 'sinon';
import { MemoryStorage } from '../../lib/storage/memory-storage';

/** The methods of the CheckpointStorage interface. */
export const STORAGE_METHODS = ['load', 'readRecord', 'readCheckpoint', 'writeRecord', 'commit', 'clear', 'list', 'acquireLease', 'renewLease', 'releaseLease', 'readLease', 'addWake', 'removeWake', 'dueWakes', 'putEvent', 'listEvents'] as const;

export type SpiedStorage = MemoryStorage & { [K in (typeof STORAGE_METHODS)[number]]: sinon.SinonSpy };

/** A real MemoryStorage whose interface methods are sinon spies that call through. */
export function spyStorage(): SpiedStorage {
  const storage = new MemoryStorage();
  for (const name of STORAGE_METHODS) sinon.spy(storage, name);
  return storage as SpiedStorage;
}

/** Names of the interface methods called, in call order. */
export function callLog(storage: SpiedStorage): string[] {
  const calls = STORAGE_METHODS.flatMap((name) => storage[name].getCalls().map((call) => ({ name, call })));
  return calls.sort((a, b) => (a.call.calledBefore(b.call) ? -1 : 1)).map((c) => c.name);
}
