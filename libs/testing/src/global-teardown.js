export default async function globalTeardown() {
  await Promise.all((globalThis.__fpiTestPostgres ?? []).map((server) => server.stop()));
}
