// User action: Stop. The worker cancels training (or an evaluation) after the step in
// progress; the bridges keep the last finished step.
import { markStoppedByUser } from '../library';
import { api } from '../worker';

export function stop(): void {
  markStoppedByUser();
  void Promise.resolve(api().stop()).catch(() => undefined);
}
