// The example application's one task. graphile-worker (not leapfrog) loads it from ./tasks when a
// worker runs in this folder: `graphile-worker --once` after the upgrade runs the jobs that the
// oldest release queued, which is what the e2e test proves.
export default async function hello(payload, helpers) {
  helpers.logger.info(`hello ${JSON.stringify(payload)}`);
}
