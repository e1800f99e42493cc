import { ByDatabase, type ProjectionEngine } from '#libs/projections';

/** The read-model projection engines of the process, one per database. */
export class ProjectionEngines extends ByDatabase<ProjectionEngine> {}
