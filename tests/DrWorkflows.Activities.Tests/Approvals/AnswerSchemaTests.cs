using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;

namespace DrWorkflows.Activities.Tests.Approvals;

public sealed class AnswerSchemaTests
{
    private static readonly JsonNode Schema = JsonNode.Parse("""
        {
          "type": "object",
          "required": ["restorePoint", "replicas"],
          "additionalProperties": false,
          "properties": {
            "restorePoint": { "type": "string", "format": "date-time" },
            "replicas": { "type": "integer", "minimum": 1, "maximum": 3 },
            "mode": { "enum": ["pitr", "full"] },
            "hosts": { "type": "array", "maxItems": 2, "items": { "type": "string", "pattern": "^dr-[0-9]+$" } }
          }
        }
        """)!;

    [Fact]
    public void A_matching_answer_has_no_errors()
    {
        var errors = AnswerSchema.Validate(Schema, JsonNode.Parse("""{"restorePoint":"2026-11-01T02:09:00Z","replicas":2,"mode":"pitr","hosts":["dr-1"]}"""));

        Assert.Empty(errors);
    }

    [Fact]
    public void Each_violation_is_named_with_its_path()
    {
        var errors = AnswerSchema.Validate(Schema, JsonNode.Parse("""{"restorePoint":"soon","replicas":2.5,"mode":"half","hosts":["db-1","dr-2","dr-3"],"extra":1}"""));

        Assert.Contains(errors, e => e.StartsWith("$.restorePoint: must be a date-time", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.replicas: expected integer", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.mode: must be one of", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.hosts: must have at most 2 items", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.hosts[0]: must match", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.extra: no value is allowed", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_required_properties_and_out_of_range_numbers_are_errors()
    {
        var errors = AnswerSchema.Validate(Schema, JsonNode.Parse("""{"replicas":9}"""));

        Assert.Contains("$: property 'restorePoint' is required.", errors);
        Assert.Contains("$.replicas: must be at most 3.", errors);
    }

    [Fact]
    public void A_schema_with_keywords_outside_the_subset_is_refused()
    {
        var problems = AnswerSchema.CheckSchema(JsonNode.Parse("""{"type":"object","properties":{"a":{"$ref":"#/x"}},"format":"email"}"""));

        Assert.Contains(problems, p => p.Contains("'$ref' is not supported", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("only format 'date-time'", StringComparison.Ordinal));
        Assert.Empty(AnswerSchema.CheckSchema(Schema));
    }

    [Fact]
    public void A_typed_answer_is_taken_as_JSON_or_as_text_whichever_the_schema_accepts()
    {
        var record = new ApprovalRecord
        {
            ApprovalId = "run.gate",
            InstanceId = "run",
            ExecutionId = "gate",
            Title = "Ticket",
            Question = "Change ticket number?",
            InputSchema = JsonNode.Parse("""{"type":"string","pattern":"^[0-9]+$"}"""),
            EvidenceSha256 = "00",
            CreatedAt = DateTimeOffset.UnixEpoch,
            SafeDefault = ApprovalOutcomes.TimedOut,
        };
        var who = ApprovalIdentity.User(ApprovalChannels.Api, "alice", []);

        var verdict = ApprovalRules.Check(record, who, "user:alice", isAllowed: true, new ApprovalRequest { Vote = "approve", Option = "4711" }, DateTimeOffset.UnixEpoch);
        var wrong = ApprovalRules.Check(record, who, "user:alice", isAllowed: true, new ApprovalRequest { Vote = "approve", Option = "CHG-1" }, DateTimeOffset.UnixEpoch);

        Assert.Equal("4711", verdict.Vote!.Value!.GetValue<string>());
        Assert.Equal(ApprovalCodes.InvalidAnswer, wrong.Refusal!.Code);
    }
}
