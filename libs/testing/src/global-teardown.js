export default async function globalTeardown() {
  await globalThis.__fpiTestPostgres?.stop();
}
