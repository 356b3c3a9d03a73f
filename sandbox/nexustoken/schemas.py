"""Request bodies, validated with pydantic: unknown fields are refused (422) like the real API."""

from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StrictBool, model_validator

TaskType = Literal[
    "json_extraction",
    "text_classification",
    "text_generation",
    "data_transformation",
    "code_execution",
    "physical_proof",
]


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("value is not a valid email address") from None
    return value.strip().lower()


EmailStr = Annotated[str, Field(max_length=254), AfterValidator(_email)]


class Body(BaseModel):
    # Strict: "50", 50.0 or true are not an int, and "yes" is not a bool. The SDK and the dashboard
    # send real JSON integers and booleans, so only hand-made bodies are affected.
    model_config = ConfigDict(extra="forbid", strict=True)


class Register(Body):
    email: EmailStr
    source: str = Field(default="", max_length=50)
    invite_code: str | None = None
    accepted_terms: bool | None = None


class Email(Body):
    email: EmailStr


class VerifyRecover(Body):
    email: EmailStr
    code: str = Field(min_length=1, max_length=20)


class CreateTask(Body):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    task_type: TaskType = "json_extraction"
    input_data: str = Field(min_length=1, max_length=10_000)
    validation_schema: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("validation_schema", "schema")
    )
    validation_rules: list[Any] = Field(
        default_factory=list, validation_alias=AliasChoices("validation_rules", "rules")
    )
    example_output: dict[str, Any] = Field(default_factory=dict)
    max_budget_credits: int = Field(
        default=50, ge=5, le=1000, validation_alias=AliasChoices("max_budget_credits", "budget")
    )
    max_execution_seconds: int = Field(
        default=120, ge=1, le=1800, validation_alias=AliasChoices("max_execution_seconds", "max_seconds")
    )
    quality_preference: Literal["best", "balanced", "cheapest"] = "balanced"
    min_skill_rating: int = Field(default=0, ge=0, le=5)
    callback_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    input_file_ids: list[str] = Field(default_factory=list, max_length=10)
    pending_pool_hours: int = Field(default=24, ge=1, le=72)
    auto_retry: int = Field(default=3, ge=0, le=10)

    @model_validator(mode="after")
    def _seconds_per_type(self):
        # Up to 300 s, except physical-world tasks (the SDK's helper asks for 1800).
        if self.task_type != "physical_proof" and self.max_execution_seconds > 300:
            raise ValueError("max_execution_seconds must be at most 300 for this task_type")
        return self


class PlaceBid(Body):
    bid_credits: int = Field(gt=0, validation_alias=AliasChoices("bid_credits", "amount"))


class Submit(Body):
    result_data: dict[str, Any]
    publish_as_artifact: bool = False
    artifact_license: str | None = None
    artifact_tags: list[str] | None = None


class Amount(Body):
    amount_credits: int = Field(gt=0, le=1_000_000, validation_alias=AliasChoices("amount_credits", "amount"))


class Repay(Body):
    amount_credits: int | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("amount_credits", "amount")
    )


class CheckoutRequest(Body):
    amount_credits: int = Field(gt=0, le=1_000_000, validation_alias=AliasChoices("amount_credits", "amount"))
    success_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    cancel_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")


class CapabilityIn(Body):
    name: str = Field(min_length=1, max_length=100)
    category: Literal["data", "text", "code", "web", "multimodal"]
    input_mode: Literal["text", "json", "file", "url"]
    output_mode: Literal["text", "json", "file", "bundle"]
    price_nc: int = Field(ge=1, le=1_000_000)
    validation_mode: Literal[
        "deterministic", "evaluator_llm", "evaluator_jury", "acceptance", "reputation"
    ] = "deterministic"
    description: str = Field(default="", max_length=2000)
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    file_types: list[str] = Field(default_factory=list, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=10)
    version: str = Field(default="1.0", max_length=20)


class Availability(Body):
    is_available: StrictBool = Field(validation_alias=AliasChoices("is_available", "available"))


class DeviceAuthorize(Body):
    client_name: str = Field(default="nexus-sdk", max_length=100)


class DeviceToken(Body):
    device_code: str = Field(min_length=1, max_length=200)


class DeviceDecision(Body):
    user_code: str = Field(min_length=1, max_length=20)
    approve: StrictBool = True


class GithubLink(Body):
    github_login: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")
    code: str | None = Field(default=None, max_length=200)
