-- name: marts.report_kpi_month
-- materialized: view
-- grain: one row per payment_month x payer_scope (every month of marts.report_periods; payer_scope '*' = all
--   payers, else one payer_key), months without payments hold zeros
-- depends_on: marts.report_kpi_compare, marts.dim_payer
-- description: The leadership report's monthly figures (headline cards, month table, rate charts), each
--   with the month before and the month-over-month change, so the report prints them and computes none:
--   the rows of marts.report_kpi_compare with comparison 'month' (whose rates and changes
--   marts.report_kpi_mtd shares), with the payer's name and plan type.
--   Sums add marts.kpi_month over payers; rates are ratios of those sums (6 places), NULL when the
--   denominator is 0; a relative change is current / previous - 1, NULL when the previous month is 0; a
--   rate's change is in percentage points, NULL when either rate is NULL. Denial lifecycle figures
--   (docs/metrics.md) count in the month their date names: initial denials in the month first denied,
--   write-offs, overturned and recovered dollars in the month resolved, first-pass yield in the month of
--   the episode's first remit, days to pay in the month of its first payment (median over the episodes
--   of the scope, from marts.claim_episodes, so an all-payer median is a median, not an average of them).
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key the figures are limited to.
-- column payer_name: Name of the payer (NULL for '*').
-- column plan_type: Plan type of the payer (NULL for '*').
-- column previous_month: The month before payment_month.
-- column payments: Payments (ST/SE transactions) received.
-- column claims_remitted: Remits (marts.kpi_month.claims_remitted).
-- column denied_claims: Denied remits.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_writeoff_amount: Final denial write-offs (marts.kpi_month.denial_writeoff_amount).
-- column initial_denied_amount: Dollars first denied in the month (kind denial).
-- column overturned_amount: Dollars recovered by denials resolved overturned in the month.
-- column recovered_amount: Dollars recovered by denials resolved in the month (any resolution).
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved in the month
--   (marts.denial_events resolution redirected, any kind: the crossover redirects recovered).
-- column episodes_first_remitted: Episodes whose first remit is in the month.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of the scope's episodes first paid in the month.
-- column provider_absorbed_amount: All provider-absorbed adjustment dollars.
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual.
-- column net_payments: Sum of BPR02 (debits negative).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column previous_claims_remitted: claims_remitted of previous_month.
-- column previous_denial_writeoff_amount: denial_writeoff_amount of previous_month.
-- column previous_provider_absorbed_amount: provider_absorbed_amount of previous_month.
-- column previous_net_payments: net_payments of previous_month.
-- column previous_initial_denied_amount: initial_denied_amount of previous_month.
-- column previous_recovered_amount: recovered_amount of previous_month.
-- column previous_overturned_amount: overturned_amount of previous_month.
-- column previous_redirect_recovered_amount: redirect_recovered_amount of previous_month.
-- column previous_first_pass_yield: first_pass_yield of previous_month.
-- column previous_median_days_to_pay: median_days_to_pay of previous_month.
-- column previous_denial_rate_count: denial_rate_count of previous_month.
-- column previous_denial_rate_dollars: denial_rate_dollars of previous_month.
-- column claims_remitted_change: claims_remitted / previous - 1.
-- column denial_writeoff_change: denial_writeoff_amount / previous - 1.
-- column provider_absorbed_change: provider_absorbed_amount / previous - 1.
-- column net_payments_change: net_payments / previous - 1.
-- column initial_denied_change: initial_denied_amount / previous - 1.
-- column recovered_change: recovered_amount / previous - 1.
-- column overturned_change: overturned_amount / previous - 1.
-- column redirect_recovered_change: redirect_recovered_amount / previous - 1.
-- column first_pass_yield_change_points: (first_pass_yield - previous) x 100.
-- column median_days_to_pay_change: median_days_to_pay - previous, in days.
-- column denial_rate_count_change_points: (denial_rate_count - previous) x 100.
-- column denial_rate_dollars_change_points: (denial_rate_dollars - previous) x 100.
-- unique_key: payment_month, payer_scope
SELECT
    k.period AS payment_month,
    k.payer_scope,
    d.payer_name,
    d.plan_type,
    k.previous_period AS previous_month,
    k.payments,
    k.claims_remitted,
    k.denied_claims,
    k.charge_remitted,
    k.denied_charge,
    k.denial_writeoff_amount,
    k.provider_absorbed_amount,
    k.expected_contractual_amount,
    k.net_payments,
    k.initial_denied_amount,
    k.overturned_amount,
    k.recovered_amount,
    k.redirect_recovered_amount,
    k.episodes_first_remitted,
    k.first_pass_paid_episodes,
    k.first_pass_yield,
    k.median_days_to_pay,
    k.denial_rate_count,
    k.denial_rate_dollars,
    k.previous_claims_remitted,
    k.previous_denial_writeoff_amount,
    k.previous_provider_absorbed_amount,
    k.previous_net_payments,
    k.previous_initial_denied_amount,
    k.previous_recovered_amount,
    k.previous_overturned_amount,
    k.previous_redirect_recovered_amount,
    k.previous_first_pass_yield,
    k.previous_median_days_to_pay,
    k.previous_denial_rate_count,
    k.previous_denial_rate_dollars,
    k.claims_remitted_change,
    k.denial_writeoff_change,
    k.provider_absorbed_change,
    k.net_payments_change,
    k.initial_denied_change,
    k.recovered_change,
    k.overturned_change,
    k.redirect_recovered_change,
    k.first_pass_yield_change_points,
    k.median_days_to_pay_change,
    k.denial_rate_count_change_points,
    k.denial_rate_dollars_change_points
FROM marts.report_kpi_compare AS k
LEFT JOIN marts.dim_payer AS d ON d.payer_key = k.payer_scope
WHERE k.comparison = 'month'
