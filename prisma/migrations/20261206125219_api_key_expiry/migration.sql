-- AlterTable
ALTER TABLE "stratum_api_keys" ADD COLUMN     "expires_at" TIMESTAMPTZ(6),
ADD COLUMN     "rate_limit" INTEGER;
