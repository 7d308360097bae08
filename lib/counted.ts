/** A count with its noun, singular or plural as the number asks: "1 workflow", "300 workflows", "2 runs of order@1". */
export function counted(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
