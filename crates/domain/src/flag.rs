//! Flags: what a demand is (comprehensive, specific-task, in the filed annual plan …) and
//! what it requires of the units beyond its costs (the principal leader's attendance,
//! reports, clock-in …). The burden-reduction rules read them; most of the practices are
//! forbidden outright by the published rules, so recording them is what makes the rules
//! checkable.

use serde::{Deserialize, Serialize};

macro_rules! flags {
    ($( $(#[$doc:meta])* $variant:ident = $bit:literal, $code:literal, $zh:literal, $en:literal; )*) => {
        /// One flag on a demand.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum Flag { $( $(#[$doc])* $variant, )* }

        impl Flag {
            pub const ALL: &'static [Flag] = &[ $( Flag::$variant, )* ];

            /// The code used in files, the API and rule sets.
            pub fn as_str(self) -> &'static str {
                match self { $( Flag::$variant => $code, )* }
            }

            pub fn zh(self) -> &'static str {
                match self { $( Flag::$variant => $zh, )* }
            }

            pub fn en(self) -> &'static str {
                match self { $( Flag::$variant => $en, )* }
            }

            /// The flag's bit in a stored flag set; never reused for another flag.
            pub fn bit(self) -> u32 {
                match self { $( Flag::$variant => 1 << $bit, )* }
            }
        }
    };
}

flags! {
    // What the demand is.
    /// 综合性 (a comprehensive meeting, inspection or document).
    Comprehensive = 0, "comprehensive", "综合性", "comprehensive";
    /// 专项工作文件.
    SpecificTask = 1, "specific_task", "专项工作", "specific task";
    /// 列入年度督查检查考核计划（已备案）.
    InAnnualPlan = 2, "in_annual_plan", "列入年度计划", "in the filed annual plan";
    /// A meeting with group discussion (分组讨论).
    GroupDiscussion = 3, "group_discussion", "分组讨论", "group discussion";
    /// A meeting convened by a deputy (副职召集).
    DeputyConvener = 4, "deputy_convener", "副职召集", "convened by a deputy";
    // What it requires of the units.
    /// 要求主要负责同志参加或陪同.
    PrincipalAttendance = 5, "principal_attendance", "要求主要负责同志参加", "principal leader required";
    /// 要求汇报、报送材料.
    ReportsDemanded = 6, "reports_demanded", "要求汇报或报送材料", "reports or materials demanded";
    /// 要求报送贯彻落实情况.
    ImplementationReport = 7, "implementation_report", "要求报送落实情况", "implementation report demanded";
    /// 要求制定配套文件.
    SupportingDocument = 8, "supporting_document", "要求制定配套文件", "supporting documents demanded";
    /// 一票否决.
    OneVoteVeto = 9, "one_vote_veto", "一票否决", "one-vote veto";
    /// 签订责任状.
    ResponsibilityPledge = 10, "responsibility_pledge", "签订责任状", "responsibility pledge";
    /// 强制打卡签到.
    ForcedClockIn = 11, "forced_clock_in", "强制打卡签到", "forced clock-in";
    /// 考核、通报下载安装率.
    InstallRateRanking = 12, "install_rate_ranking", "考核下载安装率", "install-rate ranking";
    /// 在线时长、学习时长作为考核.
    OnlineTime = 13, "online_time", "考核在线时长", "online time assessed";
    /// 点赞、转发、投票作为考核.
    LikesForwards = 14, "likes_forwards", "考核点赞转发", "likes or forwards assessed";
    /// 积分排名.
    PointsRanking = 15, "points_ranking", "积分排名", "points ranking";
    /// 强制下载、定期登录.
    ForcedDownload = 16, "forced_download", "强制下载登录", "forced download or login";
    /// 强制上传照片、视频、轨迹.
    ForcedUpload = 17, "forced_upload", "强制上传照片视频", "forced photo or video upload";
}

impl Flag {
    /// Accepts the code (`one_vote_veto`) or the Chinese name (`一票否决`).
    pub fn parse(s: &str) -> Option<Flag> {
        let s = s.trim();
        Flag::ALL.iter().copied().find(|f| f.as_str() == s || f.zh() == s)
    }

    /// The stored form of a flag set.
    pub fn to_bits(flags: &[Flag]) -> u32 {
        flags.iter().fold(0, |bits, f| bits | f.bit())
    }

    /// The flags of a stored set, in declaration order; unknown bits are ignored.
    pub fn from_bits(bits: u32) -> Vec<Flag> {
        Flag::ALL.iter().copied().filter(|f| bits & f.bit() != 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_codes_and_names_are_unique_and_round_trip() {
        let mut bits = 0u32;
        for f in Flag::ALL {
            assert_eq!(bits & f.bit(), 0, "{f:?} reuses a bit");
            bits |= f.bit();
            assert_eq!(Flag::parse(f.as_str()), Some(*f));
            assert_eq!(Flag::parse(f.zh()), Some(*f));
        }
        assert_eq!(Flag::from_bits(bits), Flag::ALL);
        assert_eq!(Flag::to_bits(&[Flag::OneVoteVeto, Flag::InAnnualPlan]), (1 << 9) | (1 << 2));
        assert_eq!(Flag::parse("nonsense"), None);
    }
}
