export interface TestRef {
  file: string;
  name: string;
}
export interface Risk {
  id: string;
  risk: string;
  rating: string;
  control: string;
  tests: TestRef[];
}
export interface TestResult {
  name: string;
  status: string;
  file: string;
}
export interface LinkedRisk extends Risk {
  linked: TestResult[];
  outcome: string;
  open: boolean;
  unmatched: string[];
}
export function fileGlob(glob: string): RegExp;
export function nameMatcher(text: string): (name: string) => boolean;
export function parseRiskRegister(markdown: string): Risk[];
export function linkRisks(risks: Risk[], tests: TestResult[]): LinkedRisk[];
