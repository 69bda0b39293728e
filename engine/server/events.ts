/** Server events the open pages subscribe to (retrain finished, version deployed, label given). */
export interface WorkbenchEvent {
  type: 'retrain-started' | 'retrain-finished' | 'retrain-failed' | 'deployed' | 'label' | 'module';
  module: string;
  at: string;
  data: Record<string, unknown>;
}

export type Listener = (e: WorkbenchEvent) => void;

/** A fan-out of events to subscribers; a throwing subscriber is dropped, never the publisher's problem. */
export class EventHub {
  private readonly listeners = new Set<Listener>();
  private seq = 0;

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get size(): number {
    return this.listeners.size;
  }

  publish(type: WorkbenchEvent['type'], module: string, data: Record<string, unknown> = {}): WorkbenchEvent {
    const e: WorkbenchEvent = { type, module, at: new Date().toISOString(), data: { ...data, seq: ++this.seq } };
    for (const fn of [...this.listeners]) {
      try {
        fn(e);
      } catch (err) {
        this.listeners.delete(fn);
        console.error(`event subscriber dropped after an error: ${(err as Error).message}`);
      }
    }
    return e;
  }
}
