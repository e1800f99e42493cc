/**
 * A small SVG bar chart of single-event append throughput per number of writers: our port,
 * the raw pg INSERT baseline and Emmett, from one `npm run bench` run. No chart library:
 * three series of bars are a few rectangles.
 */
export interface ChartSeries {
  name: string;
  colour: string;
  /** events/s by writers */
  values: Map<number, number>;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function throughputChart(title: string, series: ChartSeries[]): string {
  const writers = [...new Set(series.flatMap((s) => [...s.values.keys()]))].sort((a, b) => a - b);
  const max = Math.max(...series.flatMap((s) => [...s.values.values()]));
  const top = Math.ceil(max / 2000) * 2000;
  const [w, h, left, bottom, topPad] = [640, 320, 64, 48, 40];
  const plotW = w - left - 16;
  const plotH = h - bottom - topPad;
  const group = plotW / writers.length;
  const bar = (group * 0.7) / series.length;
  const y = (v: number) => topPad + plotH - (v / top) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (let t = 0; t <= top; t += top / 4) {
    out.push(`<line x1="${left}" x2="${w - 16}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${Math.round(t).toLocaleString('en')}</text>`);
  }
  writers.forEach((n, i) => {
    const x0 = left + i * group + group * 0.15;
    series.forEach((s, j) => {
      const v = s.values.get(n);
      if (v === undefined) return;
      const x = x0 + j * bar;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${(topPad + plotH - y(v)).toFixed(1)}" fill="${s.colour}"><title>${escape(s.name)}: ${Math.round(v)} events/s</title></rect>`,
      );
    });
    out.push(`<text x="${left + i * group + group / 2}" y="${h - bottom + 18}" text-anchor="middle">${n} writer${n === 1 ? '' : 's'}</text>`);
  });
  series.forEach((s, j) => {
    const x = left + j * 190;
    out.push(`<rect x="${x}" y="${h - 18}" width="12" height="12" fill="${s.colour}"/>`, `<text x="${x + 16}" y="${h - 8}">${escape(s.name)}</text>`);
  });
  out.push(`<text x="14" y="${topPad + plotH / 2}" transform="rotate(-90 14 ${topPad + plotH / 2})" text-anchor="middle">events/s</text>`, '</svg>');
  return out.join('\n') + '\n';
}
