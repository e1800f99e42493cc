import { Module } from '@nestjs/common';

/** FHIR R4 facade of the service overview (EpisodeOfCare). */
@Module({})
export class FhirModule {}
