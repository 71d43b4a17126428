-- Gold's revenue totals equal silver's: the delivered orders' price + freight, summed in silver,
-- against the category mart and the seller mart (each rounds per row, so allow one cent per row).
with silver_total as (
    select sum(i.price + i.freight_value) as revenue
    from {{ ref('fct_order_items') }} as i
    inner join {{ ref('fct_orders') }} as o on i.order_id = o.order_id
    where o.order_status = 'delivered'
),

category_total as (
    select sum(revenue) as revenue, count(*) as n_rows
    from {{ ref('gld_sales_by_category_month') }}
),

seller_total as (
    select sum(revenue) as revenue, count(*) as n_rows
    from {{ ref('gld_seller_performance') }}
),

checks as (
    select 'sales_by_category_month' as mart, c.revenue as gold, s.revenue as silver, c.n_rows
    from category_total as c cross join silver_total as s
    union all
    select 'seller_performance', t.revenue, s.revenue, t.n_rows
    from seller_total as t cross join silver_total as s
)

select *
from checks
where abs(coalesce(gold, 0) - coalesce(silver, 0)) > 0.005 * n_rows
