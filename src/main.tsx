import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { installSession, loadBuiltinModels, restoreLastSession, scheduleFirstCompose, startSession, startUrlSync } from './store';
import { createCalmClient } from './worker/client';
import './ui/app.css';

// Started here, once, rather than in an effect (StrictMode runs effects twice in dev): the
// session controller with the page's worker (the store reaches it through its state; tests
// install their own with a fake worker), the link's configuration, the model list (plain
// JSON), the worker and its backend, and the default composition, so that one click on Train
// shows CALM working.
const session = installSession({ client: createCalmClient(), probeClient: () => createCalmClient() });
startUrlSync();
void loadBuiltinModels();
void startSession().catch(() => undefined); // the status line shows the error
// The composition of the last visit (saved in IndexedDB) when there is one; else the default pair.
void restoreLastSession()
  .catch(() => false)
  .then((restored) => {
    if (!restored) scheduleFirstCompose();
  });

// Fault hooks for the end-to-end tests (a worker crash, a lost GPU device); nothing calls them otherwise.
(globalThis as { __calmDebug?: unknown }).__calmDebug = (action: 'crash' | 'lose-device') => session.client.api.debug(action);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
