// Helper of scripts/bench-flags-peer (Unleash beside our OFREP).
//
//   node bench-flags-peer.mjs serve <unleash prefix> <port>
//     Starts unleash-server from <prefix>/node_modules on 127.0.0.1:<port>, against the
//     PostgreSQL that DATABASE_HOST/DATABASE_PORT/DATABASE_USERNAME/DATABASE_NAME name;
//     the API tokens come from INIT_ADMIN_API_TOKENS and INIT_FRONTEND_API_TOKENS.
//     Prints "unleash ready" once it listens.
//   node bench-flags-peer.mjs seed <base url> <admin token> <flags tsv>
//     Creates one flag per line of the file (key, type, default value, tab-separated)
//     in project `default`, each with one flexibleRollout strategy in `development`
//     (rollout 100 %, stickiness userId, groupId the flag's key) and turns it on
//     there; a string, number or json flag's strategy has one variant (weight 1000)
//     whose payload is the flag's default, so the answer carries a value as ours does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [command, ...args] = process.argv.slice(2);

if (command === 'serve') {
  const [prefix, port] = args;
  const entry = join(prefix, 'node_modules/unleash-server/dist/lib/server-impl.js');
  const { start } = await import(pathToFileURL(entry).href);
  const unleash = await start({
    server: { host: '127.0.0.1', port: Number(port), enableRequestLogger: false },
    db: { host: '127.0.0.1', ssl: false },
    versionCheck: { enable: false },
    // Open-source authentication: API tokens (the two INIT_* above) are required.
    authentication: { type: 'open-source', enableApiToken: true, createAdminUser: true },
    logLevel: 'warn',
  });
  // start() resolves once the HTTP server listens.
  console.log(`unleash ready ${unleash.server ? JSON.stringify(unleash.server.address()) : ''}`);
} else if (command === 'seed') {
  const [base, adminToken, file] = args;
  const call = async (method, path, body) => {
    const r = await fetch(base + path, {
      method,
      headers: { Authorization: adminToken, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r;
  };
  const payloadType = { string: 'string', number: 'number', json: 'json' };
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  let variants = 0;
  for (const line of lines) {
    const [key, type, value] = line.split('\t');
    await call('POST', '/api/admin/projects/default/features', { name: key, type: 'release' });
    const strategy = {
      name: 'flexibleRollout',
      constraints: [],
      parameters: { rollout: '100', stickiness: 'userId', groupId: key },
    };
    if (payloadType[type] && value !== undefined && value !== '') {
      strategy.variants = [
        { name: 'default', weight: 1000, weightType: 'variable', stickiness: 'userId',
          payload: { type: payloadType[type], value } },
      ];
      variants += 1;
    }
    await call('POST', `/api/admin/projects/default/features/${key}/environments/development/strategies`, strategy);
    await call('POST', `/api/admin/projects/default/features/${key}/environments/development/on`);
  }
  console.log(`seeded ${lines.length} flags (${variants} with a variant carrying their default)`);
} else {
  console.error('usage: bench-flags-peer.mjs serve <prefix> <port> | seed <base> <admin token> <flags tsv>');
  process.exit(2);
}
