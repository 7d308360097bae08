/**
 * Sets an own, enumerable data property, whatever the key. Plain assignment `out[key] = v` with the key
 * `__proto__` (which JSON.parse produces as an ordinary key) would set the prototype instead and
 * silently drop the data.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
