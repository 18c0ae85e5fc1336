// User action: Stop. The worker cancels training (or an evaluation) after the step in
// progress; the bridges keep the last finished step.
import { api } from '../worker';

export function stop(): void {
  void Promise.resolve(api().stop()).catch(() => undefined);
}
