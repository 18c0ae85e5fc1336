import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { loadBuiltinModels } from './store';
import './ui/app.css';

// Started here, once, rather than in an effect (StrictMode runs effects twice in dev).
void loadBuiltinModels();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
