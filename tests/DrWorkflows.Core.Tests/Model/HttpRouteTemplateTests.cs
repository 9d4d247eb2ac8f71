using DrWorkflows.Core.Activities.Http;

namespace DrWorkflows.Core.Tests.Model;

/// <summary>
/// The paths of <c>Elsa.HttpEndpoint</c>, matched with the rules of the ASP.NET route templates Elsa uses: literal
/// segments without regard to case, <c>{id}</c> one segment, <c>{id?}</c> optional last, <c>{*rest}</c> the rest.
/// </summary>
public sealed class HttpRouteTemplateTests
{
    [Theory]
    [InlineData("orders/{id}", "orders/42", "id=42")]
    [InlineData("/Orders/{id}/", "ORDERS/42", "id=42")]
    [InlineData("orders/{id:int}", "orders/abc", "id=abc")] // constraints are not checked, as in Elsa's matcher
    [InlineData("orders/{id}/lines/{line}", "orders/7/lines/2", "id=7;line=2")]
    [InlineData("orders/{page?}", "orders", "")]
    [InlineData("orders/{page?}", "orders/3", "page=3")]
    [InlineData("files/{*rest}", "files/a/b%20c", "rest=a/b c")]
    [InlineData("ping", "ping", "")]
    public void A_matching_path_gives_the_route_values(string template, string path, string expected)
    {
        var values = HttpRouteTemplate.Parse(template).Match(path);

        Assert.NotNull(values);
        Assert.Equal(expected, string.Join(";", values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}")));
    }

    [Theory]
    [InlineData("orders/{id}", "orders")]
    [InlineData("orders/{id}", "orders/42/lines")]
    [InlineData("orders/{id}", "customers/42")]
    [InlineData("ping", "ping/pong")]
    [InlineData("orders/{id}", "orders//")]
    public void A_path_that_does_not_match_gives_null(string template, string path) =>
        Assert.Null(HttpRouteTemplate.Parse(template).Match(path));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/{id}/{id}", "appears twice")]
    [InlineData("a/x{id}", "mixes text")]
    [InlineData("a/{}", "not a parameter")]
    [InlineData("{rest?}/a", "only the last segment")]
    [InlineData("a?b=1", "query string")]
    public void A_path_that_is_not_a_template_is_refused_with_the_reason(string template, string reason)
    {
        var e = Assert.Throws<FormatException>(() => HttpRouteTemplate.Parse(template));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Templates_that_match_the_same_paths_share_a_canonical_form_and_literals_are_more_specific()
    {
        Assert.Equal(HttpRouteTemplate.Parse("orders/{id}").Canonical, HttpRouteTemplate.Parse("/Orders/{orderId:int}").Canonical);
        Assert.NotEqual(HttpRouteTemplate.Parse("orders/{id}").Canonical, HttpRouteTemplate.Parse("orders/{id?}").Canonical);
        Assert.True(HttpRouteTemplate.Parse("orders/new").LiteralCount > HttpRouteTemplate.Parse("orders/{id}").LiteralCount);
    }
}
