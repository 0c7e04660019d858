-- name: marts.report_kpi_mtd
-- materialized: table
-- incremental: full
-- grain: one row per payer_scope ('*' = all payers, else one payer_key): the as-of month to date against
--   the same days of the month before
-- depends_on: marts.report_kpi_compare, marts.report_as_of
-- description: The headline figures of a month-to-date report, compared like with like: the as-of month
--   from its first day through the as-of date, against the month before from its first day through the
--   same day (marts.report_as_of.previous_through_date). Each figure has the definition of the
--   marts.report_kpi_month column of the same name (docs/metrics.md), counted by the date it names
--   (payment, first denial, resolution, first remit, first payment) instead of by month. Rates are ratios of
--   the sums (6 places), NULL when the denominator is 0; changes as in marts.report_kpi_month: the rows
--   of marts.report_kpi_compare with comparison 'mtd' (figures from marts.report_kpi_mtd_figures), with
--   the as-of dates. A table (built with the warehouse), as its figures read the lake's payments by date.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payment_month: The as-of month 'YYYY-MM'.
-- column through_date: The as-of date (the last day counted).
-- column previous_month: The month before.
-- column previous_through_date: The last day counted in the month before.
-- column payments: Payments (ST/SE) received through through_date.
-- column claims_remitted: Remits paid through through_date.
-- column denied_claims: Denied remits among them.
-- column charge_remitted: Sum of CLP03 over those remits.
-- column denied_charge: Sum of CLP03 over the denied remits.
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column initial_denied_amount: Dollars first denied (kind denial) through through_date.
-- column recovered_amount: Dollars recovered by denials resolved through through_date.
-- column overturned_amount: Of those, resolved overturned.
-- column denial_writeoff_amount: Final write-offs resolved through through_date.
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved through
--   through_date.
-- column episodes_first_remitted: Episodes first remitted through through_date.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of episodes first paid through through_date.
-- column net_payments: Sum of BPR02 (debits negative) through through_date.
-- column previous_payments: payments of the same days of the month before.
-- column previous_claims_remitted: claims_remitted of the same days of the month before.
-- column previous_denial_rate_count: denial_rate_count of the same days of the month before.
-- column previous_denial_rate_dollars: denial_rate_dollars of the same days of the month before.
-- column previous_initial_denied_amount: initial_denied_amount of the same days of the month before.
-- column previous_recovered_amount: recovered_amount of the same days of the month before.
-- column previous_overturned_amount: overturned_amount of the same days of the month before.
-- column previous_denial_writeoff_amount: denial_writeoff_amount of the same days of the month before.
-- column previous_redirect_recovered_amount: redirect_recovered_amount of the same days of the month
--   before.
-- column previous_first_pass_yield: first_pass_yield of the same days of the month before.
-- column previous_median_days_to_pay: median_days_to_pay of the same days of the month before.
-- column previous_net_payments: net_payments of the same days of the month before.
-- column claims_remitted_change: claims_remitted / previous - 1.
-- column denial_rate_count_change_points: (denial_rate_count - previous) x 100.
-- column initial_denied_change: initial_denied_amount / previous - 1.
-- column recovered_change: recovered_amount / previous - 1.
-- column overturned_change: overturned_amount / previous - 1.
-- column denial_writeoff_change: denial_writeoff_amount / previous - 1.
-- column redirect_recovered_change: redirect_recovered_amount / previous - 1.
-- column first_pass_yield_change_points: (first_pass_yield - previous) x 100.
-- column median_days_to_pay_change: median_days_to_pay - previous, in days.
-- column net_payments_change: net_payments / previous - 1.
-- unique_key: payer_scope
SELECT
    k.payer_scope,
    a.as_of_month AS payment_month,
    a.as_of_date AS through_date,
    strftime(a.previous_through_date, '%Y-%m') AS previous_month,
    a.previous_through_date,
    k.payments,
    k.claims_remitted,
    k.denied_claims,
    k.charge_remitted,
    k.denied_charge,
    k.denial_rate_count,
    k.denial_rate_dollars,
    k.initial_denied_amount,
    k.recovered_amount,
    k.overturned_amount,
    k.denial_writeoff_amount,
    k.redirect_recovered_amount,
    k.episodes_first_remitted,
    k.first_pass_paid_episodes,
    k.first_pass_yield,
    k.median_days_to_pay,
    k.net_payments,
    k.previous_payments,
    k.previous_claims_remitted,
    k.previous_denial_rate_count,
    k.previous_denial_rate_dollars,
    k.previous_initial_denied_amount,
    k.previous_recovered_amount,
    k.previous_overturned_amount,
    k.previous_denial_writeoff_amount,
    k.previous_redirect_recovered_amount,
    k.previous_first_pass_yield,
    k.previous_median_days_to_pay,
    k.previous_net_payments,
    k.claims_remitted_change,
    k.denial_rate_count_change_points,
    k.initial_denied_change,
    k.recovered_change,
    k.overturned_change,
    k.denial_writeoff_change,
    k.redirect_recovered_change,
    k.first_pass_yield_change_points,
    k.median_days_to_pay_change,
    k.net_payments_change
FROM marts.report_kpi_compare AS k
CROSS JOIN marts.report_as_of AS a
WHERE k.comparison = 'mtd' AND k.period = 'current'
