import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { loadBuiltinModels, scheduleFirstCompose, startSession, startUrlSync } from './store';
import './ui/app.css';

// Started here, once, rather than in an effect (StrictMode runs effects twice in dev): the
// link's configuration, the model list (plain JSON), the worker and its backend, and the
// default composition, so that one click on Train shows CALM working.
startUrlSync();
void loadBuiltinModels();
void startSession().catch(() => undefined); // the status line shows the error
scheduleFirstCompose();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
