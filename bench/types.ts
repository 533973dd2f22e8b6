/** One line of the benchmark table that `npm run bench` prints. */
export interface Row {
  benchmark: string;
  metric: string;
  value: string;
  goal?: string;
}
