// One build and one preview server for every e2e file; tests read the URL with inject('baseUrl').
import type { TestProject } from 'vitest/node';
import { buildApp, startPreview } from './server';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  await buildApp();
  const server = await startPreview();
  project.provide('baseUrl', server.url);
  return () => server.close();
}
