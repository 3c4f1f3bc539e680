-- CreateIndex
CREATE INDEX "stratum_api_keys_tenant_id_idx" ON "stratum_api_keys"("tenant_id");

-- CreateIndex
CREATE INDEX "stratum_deliveries_webhook_id_created_at_idx" ON "stratum_deliveries"("webhook_id", "created_at");

-- CreateIndex
CREATE INDEX "stratum_scope_tokens_tenant_id_idx" ON "stratum_scope_tokens"("tenant_id");

-- CreateIndex
CREATE INDEX "stratum_tenants_created_at_id_idx" ON "stratum_tenants"("created_at", "id");

-- CreateIndex
CREATE INDEX "stratum_webhooks_tenant_id_idx" ON "stratum_webhooks"("tenant_id");
