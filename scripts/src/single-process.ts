export async function runSingleProcess(_env: NodeJS.ProcessEnv): Promise<void> {
  throw new Error('not yet');
}
