//! The demo's fixed vocabulary: the departments a province, prefecture and county have,
//! their divisions (处室/科室), the matters (topics) each handles, the data fields each
//! matter's forms ask for, the title templates of every demand kind, and the templates
//! whose wording goes with a flag (an ad-hoc inspection, a specific-task document, an app
//! that ranks install rates …).
//!
//! Names follow real Chinese government practice (e.g. 农业农村厅 at the province,
//! 农业农村局 below it; Party departments are named 中共…委组织部). Nothing here is random;
//! the generator draws from these tables with its seeded RNG.

use tongxin_domain::{DemandKind, Flag};

/// One kind of department, as it appears at each level.
pub(crate) struct DeptSpec {
    /// Short ASCII key, used in demo usernames (`staff.agri`).
    pub key: &'static str,
    /// A Party department: named `中共{unit}委{suffix}` rather than `{unit}{suffix}`.
    pub party: bool,
    /// Name suffix at province level (`农业农村厅`).
    pub province: &'static str,
    /// Name suffix at prefecture level (`农业农村局`).
    pub prefecture: &'static str,
    /// Name suffix at county level.
    pub county: &'static str,
    /// Divisions (处室) of the provincial department.
    pub divisions: &'static [&'static str],
    /// Divisions (科室) of the prefecture department.
    pub local_divisions: &'static [&'static str],
    /// Matters the department places demands about; the first is its main line of work.
    pub topics: &'static [&'static str],
    /// Always present at prefecture and county level (the others are drawn at random).
    pub core: bool,
}

impl DeptSpec {
    /// The system (系统) the department heads, as its annual work meeting and work points
    /// name it: 农业农村, 卫生健康, 组织, 政法, 社会工作 … (the provincial name without
    /// 厅/局/委员会/部).
    pub fn system(&self) -> &'static str {
        ["委员会", "厅", "局", "部"]
            .iter()
            .find_map(|suffix| self.province.strip_suffix(suffix))
            .unwrap_or(self.province)
    }

    /// `{system}工作` (社会工作 is already one).
    pub fn work(&self) -> String {
        let system = self.system();
        if system.ends_with("工作") { system.to_owned() } else { format!("{system}工作") }
    }
}

macro_rules! dept {
    ($key:literal, $party:literal, $p:literal, $c:literal, $x:literal, $core:literal,
     [$($d:literal),*], [$($l:literal),*], [$($t:literal),*]) => {
        DeptSpec {
            key: $key,
            party: $party,
            province: $p,
            prefecture: $c,
            county: $x,
            divisions: &[$($d),*],
            local_divisions: &[$($l),*],
            topics: &[$($t),*],
            core: $core,
        }
    };
}

/// Departments, in the order they are created. Keys used by the scenarios: `agri`,
/// `rural`, `housing`, `eco`, `health`, `emergency`, `stats`, `civil`, `org`.
pub(crate) const DEPTS: &[DeptSpec] = &[
    dept!(
        "agri",
        false,
        "农业农村厅",
        "农业农村局",
        "农业农村局",
        true,
        [
            "种植业管理处",
            "农田建设管理处",
            "乡村产业发展处",
            "合作经济指导处",
            "农村社会事业促进处",
            "畜牧兽医处"
        ],
        ["种植业科", "农田建设科", "农村社会事业科"],
        ["高标准农田建设", "春季农业生产", "农村人居环境整治提升", "农村集体经济发展", "粮食生产安全"]
    ),
    dept!(
        "rural",
        false,
        "乡村振兴局",
        "乡村振兴局",
        "乡村振兴局",
        true,
        ["综合规划处", "开发指导处", "社会帮扶处", "考核评估处"],
        ["开发指导科", "社会帮扶科"],
        ["防止返贫动态监测", "驻村帮扶", "脱贫人口增收", "乡村振兴"]
    ),
    dept!(
        "edu",
        false,
        "教育厅",
        "教育局",
        "教育局",
        false,
        ["基础教育处", "学生资助管理中心", "安全稳定工作处", "教师工作处"],
        ["基础教育科", "安全稳定科"],
        ["校园安全", "学生资助", "义务教育控辍保学"]
    ),
    dept!(
        "health",
        false,
        "卫生健康委员会",
        "卫生健康委员会",
        "卫生健康局",
        true,
        ["基层卫生健康处", "疾病预防控制处", "老龄健康处", "人口监测与家庭发展处"],
        ["基层卫生健康科", "疾病预防控制科", "老龄健康科"],
        ["基本公共卫生服务", "家庭医生签约服务", "爱国卫生运动", "传染病防控"]
    ),
    dept!(
        "natres",
        false,
        "自然资源厅",
        "自然资源和规划局",
        "自然资源局",
        false,
        ["耕地保护监督处", "国土空间规划处", "国土空间用途管制处", "自然资源确权登记处"],
        ["耕地保护科", "执法监察科"],
        ["耕地保护田长制", "农村乱占耕地建房整治", "国土空间规划"]
    ),
    dept!(
        "eco",
        false,
        "生态环境厅",
        "生态环境局",
        "生态环境局",
        true,
        ["大气环境处", "水生态环境处", "土壤生态环境处", "督察协调处"],
        ["水生态环境科", "土壤生态环境科"],
        ["生态环境保护督察整改", "农村生活污水治理", "大气污染防治", "秸秆禁烧"]
    ),
    dept!(
        "housing",
        false,
        "住房和城乡建设厅",
        "住房和城乡建设局",
        "住房和城乡建设局",
        true,
        ["村镇建设处", "城市建设处", "工程质量安全监管处", "房地产市场监管处"],
        ["村镇建设科", "质量安全科"],
        ["农村危房改造", "自建房安全专项整治", "城镇老旧小区改造", "农村生活垃圾治理"]
    ),
    dept!(
        "emergency",
        false,
        "应急管理厅",
        "应急管理局",
        "应急管理局",
        true,
        ["防汛抗旱处", "火灾防治管理处", "风险监测和综合减灾处", "安全生产基础处"],
        ["防汛抗旱科", "安全生产综合科"],
        ["安全生产大检查", "森林防灭火", "自然灾害综合风险普查"]
    ),
    dept!(
        "civil",
        false,
        "民政厅",
        "民政局",
        "民政局",
        true,
        ["社会救助处", "养老服务处", "基层政权建设和社区治理处", "儿童福利处"],
        ["社会救助科", "养老服务科"],
        ["低保规范管理", "养老服务", "村务公开", "农村留守儿童关爱保护"]
    ),
    dept!(
        "hrss",
        false,
        "人力资源和社会保障厅",
        "人力资源和社会保障局",
        "人力资源和社会保障局",
        false,
        ["就业促进和失业保险处", "养老保险处", "农民工工作处", "劳动关系处"],
        ["就业促进科", "养老保险科"],
        ["稳就业", "城乡居民基本养老保险", "根治欠薪"]
    ),
    dept!(
        "finance",
        false,
        "财政厅",
        "财政局",
        "财政局",
        false,
        ["农业农村处", "预算处", "绩效管理处", "社会保障处"],
        ["农业农村科", "绩效管理科"],
        ["惠民惠农财政补贴资金“一卡通”", "预算绩效管理", "村级组织运转经费保障"]
    ),
    dept!(
        "ndrc",
        false,
        "发展和改革委员会",
        "发展和改革委员会",
        "发展和改革局",
        false,
        ["固定资产投资处", "重大项目处", "价格处", "以工代赈办公室"],
        ["投资科", "价格科"],
        ["重点项目建设", "以工代赈", "价格监测"]
    ),
    dept!(
        "police",
        false,
        "公安厅",
        "公安局",
        "公安局",
        false,
        ["治安管理处", "人口管理处", "反诈骗中心"],
        ["治安管理科", "人口管理科"],
        ["反电信网络诈骗", "道路交通安全", "流动人口管理"]
    ),
    dept!(
        "transport",
        false,
        "交通运输厅",
        "交通运输局",
        "交通运输局",
        false,
        ["综合规划处", "公路管理处", "安全监督处", "运输服务处"],
        ["公路管理科", "安全监督科"],
        ["“四好农村路”建设", "农村公路养护", "道路运输安全"]
    ),
    dept!(
        "water",
        false,
        "水利厅",
        "水利局",
        "水利局",
        false,
        ["河湖管理处", "农村水利水电处", "水土保持处", "水旱灾害防御处"],
        ["河湖管理科", "农村水利科"],
        ["河湖长制", "农村饮水安全", "水土保持"]
    ),
    dept!(
        "commerce",
        false,
        "商务厅",
        "商务局",
        "商务局",
        false,
        ["市场建设处", "电子商务处", "流通业发展处"],
        ["市场建设科", "电子商务科"],
        ["县域商业体系建设", "农村电商", "消费品以旧换新"]
    ),
    dept!(
        "culture",
        false,
        "文化和旅游厅",
        "文化和旅游局",
        "文化体育和旅游局",
        false,
        ["公共服务处", "资源开发处", "市场管理处", "文物保护处"],
        ["公共服务科", "市场管理科"],
        ["乡村旅游", "公共文化服务", "文化和旅游市场安全"]
    ),
    dept!(
        "market",
        false,
        "市场监督管理局",
        "市场监督管理局",
        "市场监督管理局",
        false,
        ["食品生产安全监督管理处", "特种设备安全监察处", "质量发展处", "价格监督检查和反不正当竞争处"],
        ["食品安全科", "特种设备科"],
        ["食品安全", "特种设备安全", "电动自行车安全隐患整治"]
    ),
    dept!(
        "stats",
        false,
        "统计局",
        "统计局",
        "统计局",
        true,
        ["综合处", "农村统计处", "人口和社会科技统计处", "统计执法监督处"],
        ["农村统计科", "人口统计科"],
        ["统计数据质量", "第五次全国经济普查", "人口变动情况抽样调查"]
    ),
    dept!(
        "org",
        true,
        "组织部",
        "组织部",
        "组织部",
        true,
        ["组织二处", "干部一处", "干部监督处", "党员教育中心", "人才工作处"],
        ["组织科", "干部科", "党员教育科"],
        ["基层党建", "软弱涣散村党组织整顿", "村级后备力量培养", "党员教育管理"]
    ),
    dept!(
        "publicity",
        true,
        "宣传部",
        "宣传部",
        "宣传部",
        false,
        ["理论处", "宣传处", "文明创建处", "网络传播处"],
        ["宣传科", "文明创建科"],
        ["新时代文明实践", "移风易俗", "文明城市创建"]
    ),
    dept!(
        "politics",
        true,
        "政法委员会",
        "政法委员会",
        "政法委员会",
        false,
        ["维稳指导处", "基层社会治理处", "平安建设处"],
        ["平安建设科", "基层治理科"],
        ["平安建设", "矛盾纠纷排查化解", "网格化服务管理"]
    ),
    dept!(
        "social",
        true,
        "社会工作部",
        "社会工作部",
        "社会工作部",
        false,
        ["基层政权建设处", "社区治理处", "志愿服务处"],
        ["基层治理科", "志愿服务科"],
        ["城乡基层治理", "社区工作者队伍建设", "志愿服务"]
    ),
    dept!(
        "forestry",
        false,
        "林业局",
        "林业局",
        "林业局",
        false,
        ["森林资源管理处", "生态保护修复处", "林长制工作处", "森林防火处"],
        ["森林资源科", "林长制科"],
        ["林长制", "松材线虫病防治", "森林防火"]
    ),
    dept!(
        "medins",
        false,
        "医疗保障局",
        "医疗保障局",
        "医疗保障局",
        false,
        ["待遇保障处", "基金监管处", "医药价格和招标采购处"],
        ["待遇保障科", "基金监管科"],
        ["城乡居民医保参保缴费", "医保基金监管"]
    ),
    dept!(
        "veterans",
        false,
        "退役军人事务厅",
        "退役军人事务局",
        "退役军人事务局",
        false,
        ["思想政治和权益维护处", "移交安置处", "优抚处", "双拥工作处"],
        ["优抚科", "双拥科"],
        ["退役军人服务站建设", "双拥模范城创建", "优抚对象信息采集"]
    ),
    dept!(
        "justice",
        false,
        "司法厅",
        "司法局",
        "司法局",
        false,
        ["人民参与和促进法治处", "普法与依法治理处", "公共法律服务管理处"],
        ["普法科", "人民调解科"],
        ["乡村法治建设", "人民调解", "“八五”普法"]
    ),
];

/// Topics of the Party committee and government themselves (rarely a source).
pub(crate) const LEADERSHIP_TOPICS: &[&str] =
    &["经济工作", "乡村振兴", "安全生产", "优化营商环境", "政府工作报告重点任务落实"];

/// The data fields a matter's forms ask for. Spellings differ between bodies on purpose
/// (常住人口 / 常住人口数 / 常住人口（人）), as they do in real forms.
pub(crate) fn fields_of(topic: &str) -> &'static [&'static str] {
    match topic {
        "高标准农田建设" => {
            &["高标准农田面积（亩）", "耕地面积（亩）", "项目个数", "完成投资（万元）", "竣工面积（亩）"]
        }
        "春季农业生产" => {
            &["粮食播种面积（亩）", "早稻面积（亩）", "耕地面积（亩）", "农机数量", "撂荒地复耕面积（亩）"]
        }
        "农村人居环境整治提升" => {
            &["常住人口", "卫生厕所普及率", "农村户厕数", "生活垃圾收运处置村数", "生活污水治理率"]
        }
        "农村集体经济发展" => &[
            "村集体经营性收入",
            "村集体经济总收入（万元）",
            "经营性资产（万元）",
            "常住人口",
            "集体经济组织成员数",
        ],
        "粮食生产安全" => &["粮食播种面积（亩）", "粮食产量（吨）", "耕地面积（亩）", "种粮大户数"],
        "防止返贫动态监测" => {
            &["脱贫户人数", "监测对象户数", "监测对象人数", "常住人口", "风险消除人数"]
        }
        "驻村帮扶" => &["驻村工作队员数", "帮扶项目数", "脱贫人口数", "常住人口"],
        "脱贫人口增收" => &["脱贫人口数", "脱贫人口人均纯收入（元）", "外出务工人数", "公益性岗位人数"],
        "乡村振兴" => &["常住人口", "村集体经营性收入", "脱贫人口数", "低保户数", "外出务工人数"],
        "学生资助" => &["在校学生数", "受助学生人数", "资助金额（元）", "建档立卡学生数"],
        "义务教育控辍保学" => &["适龄儿童人数", "在校学生数", "辍学学生数", "劝返人数"],
        "校园安全" => &["学校数", "在校学生数", "安保人员数", "隐患整改数"],
        "基本公共卫生服务" => &[
            "常住人口数",
            "65岁以上老年人数",
            "高血压患者管理人数",
            "糖尿病患者管理人数",
            "电子健康档案建档率",
        ],
        "家庭医生签约服务" => &["常住人口数", "签约人数", "重点人群签约率", "家庭医生团队数"],
        "爱国卫生运动" => &["常住人口（人）", "卫生村数", "病媒生物防制点数", "环境卫生整治次数"],
        "传染病防控" => &["常住人口数", "疫苗接种人数", "发热门诊数", "监测报告病例数"],
        "耕地保护田长制" => {
            &["耕地面积（亩）", "永久基本农田面积（亩）", "田长人数", "巡田次数", "问题图斑数"]
        }
        "农村乱占耕地建房整治" => &["问题图斑数", "整改宗数", "耕地面积（亩）", "农村宅基地宗数"],
        "农村生活污水治理" => &["常住人口", "生活污水治理率", "污水处理设施数", "正常运行设施数"],
        "秸秆禁烧" => &["巡查次数", "火点数", "秸秆综合利用率"],
        "农村危房改造" => &["危房户数", "改造户数", "低保户数", "补助资金（万元）"],
        "自建房安全专项整治" => {
            &["自建房栋数", "经营性自建房栋数", "排查栋数", "隐患栋数", "整改栋数"]
        }
        "农村生活垃圾治理" => &["常住人口", "保洁员人数", "垃圾收运车辆数", "日产垃圾量（吨）"],
        "安全生产大检查" => &["检查企业数", "发现隐患数", "整改隐患数", "停产整顿企业数"],
        "森林防灭火" | "森林防火" => &["护林员人数", "林地面积（亩）", "火情次数", "巡山次数"],
        "自然灾害综合风险普查" => &["常住人口", "房屋栋数", "危险源数", "避灾点数"],
        "低保规范管理" => &["低保户数", "低保对象人数", "特困供养人数", "常住人口", "临时救助人次"],
        "养老服务" => &["60岁以上老年人数", "养老服务站数", "特困供养人数", "常住人口"],
        "村务公开" => &["公开事项数", "公开次数", "村民代表人数"],
        "农村留守儿童关爱保护" => &["留守儿童人数", "困境儿童人数", "儿童主任人数"],
        "稳就业" => &["新增就业人数", "外出务工人数", "脱贫劳动力务工人数", "就业困难人员数"],
        "城乡居民基本养老保险" => &["参保人数", "应参保人数", "60岁以上老年人数", "代缴人数"],
        "根治欠薪" => &["在建项目数", "欠薪案件数", "涉及农民工人数", "追回金额（万元）"],
        "惠民惠农财政补贴资金“一卡通”" => {
            &["补贴项目数", "发放人次", "发放金额（万元）", "问题线索数"]
        }
        "村级组织运转经费保障" => &["村干部人数", "运转经费（万元）", "村集体经济总收入（万元）"],
        "以工代赈" => &["项目数", "务工群众人数", "劳务报酬（万元）"],
        "价格监测" => &["监测品种数", "猪肉价格（元/斤）", "蔬菜价格（元/斤）"],
        "反电信网络诈骗" => &["发案数", "损失金额（万元）", "宣传场次", "国家反诈APP注册人数"],
        "道路交通安全" => &["劝导站数", "劝导员人数", "事故起数", "常住人口"],
        "流动人口管理" => &["户籍人口", "常住人口", "流动人口数", "出租房屋数"],
        "“四好农村路”建设" | "农村公路养护" => {
            &["农村公路里程（公里）", "新改建里程（公里）", "路长人数", "养护里程（公里）"]
        }
        "农村饮水安全" => &["常住人口", "集中供水人口", "自来水普及率", "供水工程数"],
        "河湖长制" => &["河湖长人数", "巡河次数", "河道长度（公里）", "问题整改数"],
        "农村电商" | "县域商业体系建设" => {
            &["电商服务站数", "网络零售额（万元）", "快递进村覆盖率"]
        }
        "公共文化服务" => &["综合文化服务中心数", "文化活动场次", "农家书屋数"],
        "食品安全" => &["食品经营主体数", "抽检批次", "不合格批次", "农村集体聚餐备案数"],
        "统计数据质量" | "第五次全国经济普查" => {
            &["法人单位数", "个体经营户数", "从业人员数", "常住人口"]
        }
        "人口变动情况抽样调查" => &["常住人口", "户籍人口", "出生人数", "死亡人数", "迁入人数"],
        "基层党建" | "党员教育管理" => &["党员人数", "党组织数", "发展党员数", "常住人口"],
        "软弱涣散村党组织整顿" => &["整顿村数", "党员人数", "村“两委”成员数"],
        "村级后备力量培养" => &["后备干部人数", "35岁以下人数", "大专以上学历人数"],
        "新时代文明实践" | "移风易俗" => {
            &["文明实践站数", "志愿者人数", "活动场次", "红白理事会数"]
        }
        "平安建设" | "矛盾纠纷排查化解" => &["矛盾纠纷数", "调处成功数", "信访件数", "常住人口"],
        "网格化服务管理" | "城乡基层治理" => {
            &["网格数", "网格员人数", "常住人口", "户籍人口", "事件处置数"]
        }
        "社区工作者队伍建设" => &["社区工作者人数", "持证社工人数", "平均年龄"],
        "林长制" | "松材线虫病防治" => {
            &["林地面积（亩）", "林长人数", "护林员人数", "疫木清理株数"]
        }
        "城乡居民医保参保缴费" | "医保基金监管" => {
            &["参保人数", "应参保人数", "常住人口", "医保参保率"]
        }
        "退役军人服务站建设" | "优抚对象信息采集" | "双拥模范城创建" => {
            &["退役军人人数", "优抚对象人数", "服务站数"]
        }
        "人民调解" | "乡村法治建设" | "“八五”普法" => {
            &["人民调解员人数", "调解案件数", "法律明白人数"]
        }
        _ => &["常住人口", "工作完成数", "存在问题数"],
    }
}

/// Title templates per kind. `{s}` is the issuing level's scope word (全省/全市/全县…),
/// `{t}` the topic, `{y}` the year, `{q}` a quarter (一…四).
pub(crate) fn templates(kind: DemandKind) -> &'static [&'static str] {
    match kind {
        DemandKind::Meeting => &[
            "{s}{t}工作推进会",
            "{s}{t}工作视频调度会议",
            "{s}{t}工作部署会",
            "{s}{t}工作电视电话会议",
            "{s}{t}业务培训会",
            "{t}工作座谈会",
        ],
        DemandKind::Inspection => &[
            "关于开展{y}年{t}督导检查的通知",
            "{t}专项督查",
            "{y}年{t}工作考核检查",
            "{t}暗访暗查",
            "{t}工作“回头看”检查",
        ],
        DemandKind::ResearchVisit => &["{t}专题调研", "关于{t}工作情况的调研", "{t}基层蹲点调研"],
        DemandKind::GuidanceVisit => &["{t}工作指导帮扶", "{t}业务指导", "{t}现场指导"],
        DemandKind::WorkGroup => &["{t}驻点工作组", "{t}工作专班", "{t}督导服务队"],
        DemandKind::Document => &[
            "关于做好{y}年{t}工作的通知",
            "关于印发《{y}年{t}工作要点》的通知",
            "关于进一步加强{t}工作的实施意见",
        ],
        DemandKind::DataRequest => &[
            "关于报送{y}年第{q}季度{t}情况的通知",
            "关于填报{t}工作台账的通知",
            "{t}相关数据统计报表",
            "关于报送{t}有关数据的紧急通知",
        ],
        DemandKind::AppObligation => &["{t}工作群每日报送进度", "{t}信息系统每日填报", "“{t}”小程序每日打卡"],
        DemandKind::Indicator => &["{y}年度{t}工作考核指标", "{y}年度{s}{t}绩效考核指标"],
        DemandKind::Secondment => &["关于抽调工作人员参加{t}工作专班的通知", "借调干部参与{t}工作"],
        DemandKind::Signboard => &["{t}示范村（社区）创建", "{t}先进单位评选", "{t}达标创建验收"],
    }
}

/// Inspections outside the filed annual plan (临时性督查): how their notices read.
pub(crate) const ADHOC_INSPECTIONS: &[&str] =
    &["{t}临时性督查", "{t}突击检查", "关于开展{t}专项督查的紧急通知", "{t}随机抽查"];

/// Specific-task documents (专项工作文件, capped at 4,000 characters).
pub(crate) const SPECIFIC_TASK_DOCUMENTS: &[&str] =
    &["关于印发《{t}工作方案》的通知", "关于印发《{t}专项行动方案》的通知", "关于开展{t}专项整治的通知"];

/// Meetings with group discussion (分组讨论), a day or more.
pub(crate) const GROUP_DISCUSSION_MEETINGS: &[&str] =
    &["{s}{t}工作现场推进会", "{s}{t}工作专题研讨会", "{s}{t}工作经验交流会"];

/// Meetings that run two full days without group discussion.
pub(crate) const TRAINING_MEETINGS: &[&str] = &["{s}{t}业务培训班", "{s}{t}工作能力提升培训班"];

/// App and work-group obligations whose very wording is a practice the rules forbid,
/// with the flags that say so.
pub(crate) const APP_PRACTICES: &[(&str, &[Flag])] = &[
    ("“{t}”小程序每日打卡", &[Flag::ForcedClockIn]),
    ("“{t}”APP下载注册（按安装率通报排名）", &[Flag::ForcedDownload, Flag::InstallRateRanking]),
    ("{t}宣传推文每日转发点赞", &[Flag::LikesForwards]),
    ("“{t}”线上学习积分排名", &[Flag::PointsRanking, Flag::OnlineTime]),
    ("{t}巡查照片和轨迹每日上传", &[Flag::ForcedUpload]),
    ("“{t}”平台每日登录和在线时长考核", &[Flag::ForcedDownload, Flag::OnlineTime]),
];

/// Wording that makes an indicator set judge work by what the rules forbid (leaders'
/// instructions, experience pieces, documents issued, photos), appended to a few titles.
pub(crate) const FORBIDDEN_INDICATOR_CONTENT: &[&str] = &[
    "（含领导批示件办理情况）",
    "（含经验材料和信息报送数量）",
    "（含开会发文数量）",
    "（工作台账拍照留痕）",
];

/// Fills a template.
pub(crate) fn fill(template: &str, scope: &str, topic: &str, year: i32, quarter: u32) -> String {
    const Q: [&str; 4] = ["一", "二", "三", "四"];
    let q = Q[(quarter.clamp(1, 4) - 1) as usize];
    template.replace("{s}", scope).replace("{t}", topic).replace("{y}", &year.to_string()).replace("{q}", q)
}

/// The scope word of a unit's meetings and campaigns, from its name: 全省, 全区 (an
/// autonomous region or a district), 全市, 全州, 全盟, 全县, 全旗, 全镇, 全乡, 全街道.
pub(crate) fn scope_word(name: &str) -> String {
    let suffixes = [
        ("自治区", "全区"),
        ("街道", "全街道"),
        ("省", "全省"),
        ("市", "全市"),
        ("州", "全州"),
        ("盟", "全盟"),
        ("地区", "全区"),
        ("区", "全区"),
        ("县", "全县"),
        ("旗", "全旗"),
        ("镇", "全镇"),
        ("乡", "全乡"),
    ];
    suffixes
        .iter()
        .find(|(s, _)| name.ends_with(s))
        .map(|(_, w)| (*w).to_owned())
        .unwrap_or_else(|| "全域".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_consistent() {
        assert!(DEPTS.len() >= 25);
        let mut keys: Vec<&str> = DEPTS.iter().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEPTS.len(), "keys are unique");
        for d in DEPTS {
            assert!((3..=6).contains(&d.divisions.len()), "{}", d.key);
            assert!((2..=3).contains(&d.local_divisions.len()), "{}", d.key);
            assert!(!d.topics.is_empty());
        }
        assert!(DEPTS.iter().filter(|d| d.core).count() >= 8);
        for d in DEPTS {
            assert!(!d.system().is_empty() && d.system() != d.province, "{}", d.key);
        }
        let system = |key: &str| DEPTS.iter().find(|d| d.key == key).map(|d| (d.system(), d.work()));
        assert_eq!(system("agri"), Some(("农业农村", "农业农村工作".to_owned())));
        assert_eq!(system("health"), Some(("卫生健康", "卫生健康工作".to_owned())));
        assert_eq!(system("org"), Some(("组织", "组织工作".to_owned())));
        assert_eq!(system("social"), Some(("社会工作", "社会工作".to_owned())));
        for k in DemandKind::ALL {
            assert!(!templates(k).is_empty());
        }
    }

    #[test]
    fn scope_words_follow_the_unit_name() {
        assert_eq!(scope_word("福建省"), "全省");
        assert_eq!(scope_word("广西壮族自治区"), "全区");
        assert_eq!(scope_word("福州市"), "全市");
        assert_eq!(scope_word("仙游县"), "全县");
        assert_eq!(scope_word("鼓楼区"), "全区");
        assert_eq!(scope_word("榜头镇"), "全镇");
        assert_eq!(scope_word("鲤城街道"), "全街道");
        assert_eq!(
            fill("关于报送{y}年第{q}季度{t}情况的通知", "全省", "农村集体经济发展", 2026, 1),
            "关于报送2026年第一季度农村集体经济发展情况的通知"
        );
    }
}
